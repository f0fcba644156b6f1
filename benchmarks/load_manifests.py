"""Measure manifest loading and validation speed (issue 2: under 1.5 ms per document).

Usage: python benchmarks/load_manifests.py [--documents 2000]. Prints documents per second.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from reconciler.manifests import load_manifests

DOC = """\
apiVersion: reconciler/v1
kind: TargetCommunications
metadata:
  name: bench-{i}
  labels: {{team: crm, shard: "{shard}"}}
target:
  targetGroup: {group}
  target: {target}
communications:
  - &email
    communicationType: START
    channel: EMAIL
    sender: ${{sender}}
    subjectTemplate: "Welcome to target {i}"
    messageTemplate: |
      Hi {{{{first_name}}}},
      spend {{{{target_value}}}} before {{{{period_end_date}}}}.
  - <<: *email
    communicationType: FINISH
    subjectTemplate: "Done: {i}"
  - communicationType: REMINDER
    channel: SMS
    sender: SHOP
    offsetDays: 3
    messageTemplate: "{{{{first_name}}}}, 3 days left."
  - communicationType: CHANGE
    channelId: 3
    sender: SHOP
    messageTemplate: "You're at {{{{achieved_value}}}}."
"""


def generate(directory: Path, documents: int, per_file: int = 50) -> None:
    for start in range(0, documents, per_file):
        chunk = [
            DOC.format(i=i, shard=i % 7, group=1000 + i // 100, target=100000 + i)
            for i in range(start, min(start + per_file, documents))
        ]
        (directory / f"m{start:06d}.yaml").write_text("---\n".join(chunk))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--documents", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        generate(directory, args.documents)
        start = time.perf_counter()
        result = load_manifests(
            [str(directory)], variables={"sender": "s@example.com"}, root=directory
        )
        elapsed = time.perf_counter() - start
    assert not result.diagnostics, result.diagnostics[:3]
    assert len(result.documents) == args.documents
    per_doc_ms = elapsed * 1000 / args.documents
    print(
        f"loaded and validated {args.documents} documents (4 communications each) in "
        f"{elapsed:.3f} s: {args.documents / elapsed:,.0f} documents/s, {per_doc_ms:.3f} ms/document"
    )


if __name__ == "__main__":
    main()
