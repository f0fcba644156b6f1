"""A loaded document keeps only the positions later stages ask for (issue 9), and they are
exactly those of the full parse."""

from __future__ import annotations

from pathlib import Path

from reconciler.manifests import load_manifests
from reconciler.manifests.positions import Positions
from reconciler.manifests.yamlstrict import read_documents

MANIFEST = """\
apiVersion: reconciler/v1
kind: TargetCommunications
metadata:
  name: positions
  labels: {team: crm}
target:
  targetGroup: "Spring Sprint"
  target: 2317
communications:
  - &email
    communicationType: START
    channel: EMAIL
    sender: a@example.com
    messageTemplate: hi
  - <<: *email
    communicationType: FINISH
  - {communicationType: CHANGE, channelId: 1, sender: NW, messageTemplate: "x"}
"""

KEPT = [
    (),
    ("metadata", "name"),
    ("target",),
    ("target", "targetGroup"),
    ("target", "target"),
    *[("communications", i) for i in range(3)],
    *[("communications", i, f) for i in range(3) for f in ("channel", "channelId")],
]


def test_kept_positions_are_the_full_parse_positions() -> None:
    document = read_documents(MANIFEST)[0]
    positions = Positions(document, 3)
    for path in KEPT:
        assert positions.position(path) == document.position(path), path
    assert positions.position(("target", "target")) == (8, 11)
    assert positions.position(("communications", 2, "channelId")) == (17, 44)


def test_other_paths_fall_back_to_their_closest_kept_parent() -> None:
    positions = Positions(read_documents(MANIFEST)[0], 3)
    assert positions.position(("communications", 1, "sender")) == positions.position(
        ("communications", 1)
    )
    assert positions.position(("communications", 7, "channel")) == positions.position(())
    assert positions.position(("metadata", "labels", "team")) == positions.position(())


def test_loaded_documents_report_at_the_kept_positions(tmp_path: Path) -> None:
    path = tmp_path / "m.yaml"
    path.write_text(MANIFEST)
    result = load_manifests([str(path)], variables={}, root=tmp_path)
    assert result.ok, result.diagnostics
    (doc,) = result.documents
    assert doc.where(("target",)).endswith("m.yaml:7:3")
    assert doc.source(("communications", 1)).line == 15
