"""`export` writes every target, whatever its names hold (issue 14 item 13).

Group, target and channel names come from the API: a line break, ``\\r``, U+2028, NEL or any
other control character must neither abort the export nor break the YAML (a name is a
quoted scalar that reads back exactly; in the header comment it is escaped, so the comment
stays one line), and the file names derived from names stay plain.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from reconciler.manifests.interpolate import interpolate
from reconciler.manifests.yamlstrict import _BAD_CHAR_RE, read_documents
from reconciler.sandbox import SandboxServer
from reconciler.sandbox.seed import EMAIL, SENDER
from tests.support.cli import Run, write_config
from tests.support.servers import Answer, Proxy, Seen

ODD_NAMES = [
    "Line\nbreak",
    "Carriage\rreturn",
    "CRLF\r\nname",
    "Line\u2028separator",
    "Paragraph\u2029separator",
    "Next\x85line",
    "Tab\there",
    "Nul\x00byte",
    "Bell\x07",
    "Vertical\x0btab",
    "Form\x0cfeed",
    "Escape\x1b[31mred",
    "Delete\x7f",
    "C1\x9bcontrol",
    "x\nprune: false\ncommunications: []",
    "# not a comment",
    "ends with a backslash \\",
    "${sender}",
    "$${literal}",
    "Bidi\u202eoverride",
    "\ufeffBOM",
    "  spaces  ",
    "",
    "..",
    "../../etc/passwd",
    "a/b\\c:d*e?f<g>h|i",
    "CON",
    "nul",
    "L" * 300,
    ".hidden",
    "yes",
    "0123",
    "'\"quotes\"'",
    "日本語の名前",
]
GROUP_BASE, TARGET_BASE, CHANNEL = 8000, 8500, 77
CHANNEL_NAME = "Odd\u2028Channel\n"
# Path parts export may write: lowercase letters, digits and dashes, nothing a file system or
# a shell treats specially.
_SAFE_PART = re.compile(r"[a-z0-9][a-z0-9-]*\Z")
_RESERVED = {"con", "prn", "aux", "nul"} | {f"{p}{i}" for p in ("com", "lpt") for i in range(10)}
_BREAKS = ("\r", "\x85", "\u2028", "\u2029")


def _seed(sandbox: SandboxServer) -> dict[tuple[int, int], tuple[str, str]]:
    """One group per odd name, each with one target named by another odd name."""
    store = sandbox.store
    store.add_channel(CHANNEL, CHANNEL_NAME)
    seeded: dict[tuple[int, int], tuple[str, str]] = {}
    for i, group_name in enumerate(ODD_NAMES):
        target_name = ODD_NAMES[(i + 7) % len(ODD_NAMES)]
        group, target = GROUP_BASE + i, TARGET_BASE + i
        store.add_group(group, group_name)
        store.add_target(group, target, target_name)
        store.put_communication(
            group,
            target,
            communication_type="START",
            channel_id=EMAIL if i % 2 else CHANNEL,
            message_template=f"Hi {{{{first_name}}}}, welcome to {group_name}",
            subject_template=target_name,
            sender=SENDER,
        )
        seeded[(group, target)] = (group_name, target_name)
    return seeded


def _file_of(out: Path, group: int, target: int) -> Path:
    found = list(out.glob(f"*-{group}/*-{target}.yaml"))
    assert len(found) == 1, f"{group}/{target}: {found}"
    return found[0]


def _assert_plain_text_with_one_line_comments(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert not _BAD_CHAR_RE.search(text), path
    assert not any(ch in text for ch in _BREAKS), path
    lines = text.split("\n")
    comments = [line for line in lines if line.lstrip().startswith("#")]
    assert comments == lines[:2], path  # the two header lines and nothing else


def _no_change_but_the_demo_duplicate(out: str) -> None:
    """The exported manifests plan no change, except the deactivation of the demo's live
    duplicate (id 5131): a declared key keeps exactly one active communication."""
    changes = [
        line.strip() for line in out.splitlines() if line.startswith(("  + ", "  ~ ", "  - "))
    ]
    assert changes == ["- deactivate START on EMAIL (channelId 2), id 5131 — live duplicate"], out
    assert "Plan: 0 to create, 0 to update, 1 to deactivate," in out


@pytest.mark.parametrize("by_name", [False, True], ids=["by-id", "by-name"])
def test_every_target_is_exported_whatever_its_names_hold(
    workspace: Path, cli: Run, sandbox: SandboxServer, by_name: bool
) -> None:
    shutil.rmtree(workspace / "manifests")
    # The seeded messages are odd on purpose (a literal ${...}, an email with no subject): lint
    # says so, but this test is about exact names, so here those are only warnings.
    levels = "{placeholder-variable: warning, email-subject: warning}"
    write_config(workspace, sandbox.url, lint=f"{{rules: {levels}}}")
    seeded = _seed(sandbox)
    flags = ["--by-name"] if by_name else []
    code, out, err = cli("export", "--all", "--out-dir", "exported", *flags)
    assert code == 0, err
    exported = workspace / "exported"
    for (group, target), (group_name, target_name) in seeded.items():
        path = _file_of(exported, group, target)
        for part in path.relative_to(exported).with_suffix("").parts:
            assert _SAFE_PART.match(part), part
            assert len(part) <= 100, part
            assert part.split("-")[0] not in _RESERVED or "-" in part, part
        _assert_plain_text_with_one_line_comments(path)
        header = path.read_text(encoding="utf-8").split("\n")[1]
        assert f"target {target} " in header
        assert f"of group {group} " in header
        escaped = json.dumps(group_name, ensure_ascii=False)[1:-1]
        if group_name.isprintable() and "\\" not in group_name:
            assert group_name in header
        else:
            assert escaped in header or group_name.encode("unicode_escape").decode() in header
        documents = read_documents(path.read_text(encoding="utf-8"))
        assert len(documents) == 1
        document = documents[0].value
        assert isinstance(document, dict)
        ref = document["target"]
        entry = document["communications"][0]
        vars_ = {"sender": SENDER}
        if by_name:
            # Names unique among their kind are written as names, and read back exactly.
            if group_name and ODD_NAMES.count(group_name) == 1:
                assert interpolate(ref["targetGroup"], vars_) == (group_name, [])
            else:
                assert ref["targetGroup"] == group
            if target_name:  # an empty name cannot be a reference: the id is written
                assert interpolate(ref["target"], vars_) == (target_name, [])
            else:
                assert ref["target"] == target
            if group % 2 == 0:
                assert interpolate(entry["channel"], vars_) == (CHANNEL_NAME, [])
        else:
            assert ref == {"targetGroup": group, "target": target}
        assert interpolate(entry["subjectTemplate"], vars_) == (target_name, [])
        assert interpolate(entry["messageTemplate"], vars_)[0].endswith(group_name)
    assert len(list(exported.rglob("*.yaml"))) >= len(seeded)

    code, out, err = cli("validate", "exported")
    assert code == 0, out + err
    code, out, err = cli("plan", "exported")
    assert code == 0, err
    _no_change_but_the_demo_duplicate(out)
    # A second export of the same state is byte-identical (nothing depends on order or chance).
    assert cli("export", "--all", "--out-dir", "again", *flags)[0] == 0
    first = {p.relative_to(exported): p.read_bytes() for p in exported.rglob("*.yaml")}
    again = workspace / "again"
    assert first == {p.relative_to(again): p.read_bytes() for p in again.rglob("*.yaml")}

    # --force merges into the files in place; what it writes is as plain as a fresh export.
    for (group, target), (group_name, _) in seeded.items():
        live = sandbox.store.communications(group, target)[0]
        sandbox.store.edit_communication(
            live["id"], message_template=f"Changed\u2028in\rthe\x85UI for {group_name}"
        )
    code, out, err = cli("export", "--all", "--out-dir", "exported", "--force", *flags)
    assert code == 0, err
    for group, target in seeded:
        _assert_plain_text_with_one_line_comments(_file_of(exported, group, target))
    code, out, err = cli("plan", "exported")
    assert code == 0, err
    _no_change_but_the_demo_duplicate(out)


def test_metadata_names_stay_unique_when_slugs_collide(
    workspace: Path, cli: Run, sandbox: SandboxServer
) -> None:
    """``a``/``b-7`` and two targets ``b`` (the second taking ``-7``) must not share a name."""
    shutil.rmtree(workspace / "manifests")
    store = sandbox.store
    store.add_group(8100, "a")
    for target, name in ((3, "b-7"), (1, "b"), (7, "b"), (9, "B"), (11, "b!")):
        store.add_target(8100, target, name)
        store.put_communication(
            8100, target, communication_type="START", channel_id=EMAIL,
            message_template="hi", sender=SENDER,
        )  # fmt: skip
    assert cli("export", "--target-group", "8100", "--out-dir", "exported")[0] == 0
    code, out, err = cli("validate", "exported")
    assert code == 0, out + err
    assert len(list((workspace / "exported").rglob("*.yaml"))) == 5


def test_a_hostile_answer_cannot_abort_the_export_of_the_other_targets(
    tmp_path: Path, cli: Run, sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Names YAML cannot carry (a lone surrogate) fall back to ids; a template YAML cannot carry
    fails that target alone, with an error naming it; every other target is written."""
    store = sandbox.store
    store.add_group(8200, "Hostile")
    for target in (1, 2, 3):
        store.add_target(8200, target, f"Target {target}")
        store.put_communication(
            8200, target, communication_type="START", channel_id=EMAIL,
            message_template=f"Message {target}", sender=SENDER,
        )  # fmt: skip

    def rule(seen: Seen, n: int) -> Answer | None:
        if seen.method != "GET":
            return None
        if seen.path.endswith("/v3/targetGroups/8200/targets"):
            answer = proxy._forward(seen, seen.body)
            body = json.loads(answer.body)
            targets = body["data"] if isinstance(body, dict) and "data" in body else body
            for item in targets if isinstance(targets, list) else []:
                if item.get("id") == 1:
                    item["name"] = "Lone \udc80 surrogate\nand a break"
            return Answer(200, json.dumps(body).encode(), {"content-type": "application/json"})
        if seen.path.endswith("/targets/3/communications"):
            answer = proxy._forward(seen, seen.body)
            text = answer.body.decode().replace("Message 3", "Message \\udc80 3")
            return Answer(200, text.encode(), {"content-type": "application/json"})
        return None

    with Proxy(sandbox.url, rule) as proxy:
        repo = tmp_path / "repo"
        repo.mkdir()
        write_config(repo, proxy.url)
        monkeypatch.chdir(repo)
        monkeypatch.setenv("CAPILLARY_USERNAME", "demo")
        monkeypatch.setenv("CAPILLARY_PASSWORD", "demo-password")
        code, out, err = cli(
            "export", "--target-group", "8200", "--by-name", "--out-dir", "exported"
        )
    assert code == 1
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, err
    assert errors[0] == (
        "error: target 3 (Target 3) of group 8200 (Hostile): communications[0].messageTemplate "
        "contains U+DC80, which a YAML manifest cannot hold exactly; not exported"
    )
    exported = repo / "exported"
    first = _file_of(exported, 8200, 1)
    _assert_plain_text_with_one_line_comments(first)
    document = read_documents(first.read_text(encoding="utf-8"))[0].value
    assert isinstance(document, dict)
    assert document["target"]["target"] == 1  # the name cannot be written; the id can
    assert document["target"]["targetGroup"] == "Hostile"
    _file_of(exported, 8200, 2)
    assert not list(exported.glob("*-8200/*-3.yaml"))
    assert "exported 2 manifests" in out
