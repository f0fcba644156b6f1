"""One bad manifest per SPEC §3 rule: each fails with exit 1 and its exact position and reason."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from reconciler.cli import main

DATA = Path(__file__).parent.parent / "data" / "manifests"

# (file, the exact error lines after "error: tests/data/manifests/")
CASES = [
    (
        "bad-active-yes.yaml",
        [
            "bad-active-yes.yaml:13:13: active must be true or false, found string 'yes'",
        ],
    ),
    (
        "bad-api-version.yaml",
        [
            "bad-api-version.yaml:1:13: apiVersion must be one of 'reconciler/v1', found string 'reconciler/v2'",
        ],
    ),
    (
        "bad-channel-and-channelid.yaml",
        [
            "bad-channel-and-channelid.yaml:11:5: give either 'channel' or 'channelId', not both",
        ],
    ),
    (
        "bad-channel-missing.yaml",
        [
            "bad-channel-missing.yaml:9:5: missing 'channel' (a channel name) or 'channelId'",
        ],
    ),
    (
        "bad-comments-only.yaml",
        [
            "bad-comments-only.yaml:1:1: file has no manifest documents (it is empty or only comments)",
        ],
    ),
    (
        "bad-duplicate-communication.yaml",
        [
            "bad-duplicate-communication.yaml:13:5: duplicate communication START on channel EMAIL (also entry 1 of this target); one per type per channel",
        ],
    ),
    (
        "bad-duplicate-key.yaml",
        [
            "bad-duplicate-key.yaml:12:5: duplicate key 'sender' (first at line 11)",
        ],
    ),
    (
        "bad-duplicate-name.yaml",
        [
            "bad-duplicate-name.yaml:17:9: duplicate metadata.name 'bad-dup-name' (first declared at tests/data/manifests/bad-duplicate-name.yaml:4:9)",
        ],
    ),
    (
        "bad-duplicate-target.yaml",
        [
            "bad-duplicate-target.yaml:19:3: target 2317 of group 2163 is already declared by 'bad-dup-target-a' at tests/data/manifests/bad-duplicate-target.yaml:6:3",
        ],
    ),
    (
        "bad-empty-file.yaml",
        [
            "bad-empty-file.yaml:1:1: file has no manifest documents (it is empty or only comments)",
        ],
    ),
    (
        "bad-empty-message.yaml",
        [
            "bad-empty-message.yaml:12:22: messageTemplate must not be empty",
        ],
    ),
    (
        "bad-enum.yaml",
        [
            "bad-enum.yaml:9:24: communicationType must be one of 'START', 'FINISH', 'CHANGE' or 'REMINDER', found string 'STRAT'; did you mean 'START'?",
        ],
    ),
    (
        "bad-fractional-offset.yaml",
        [
            "bad-fractional-offset.yaml:12:17: offsetDays must be an integer, found number 1.5",
        ],
    ),
    (
        "bad-missing-field.yaml",
        [
            "bad-missing-field.yaml:9:5: missing required field 'sender'",
        ],
    ),
    (
        "bad-negative-offset.yaml",
        [
            "bad-negative-offset.yaml:12:17: offsetDays must be 0 or more, found integer -2",
        ],
    ),
    (
        "bad-several-problems.yaml",
        [
            "bad-several-problems.yaml:9:24: communicationType must be one of 'START', 'FINISH', 'CHANGE' or 'REMINDER', found string 'BEGIN'",
            "bad-several-problems.yaml:10:5: unknown field 'chanel'; did you mean 'channel'?",
            "bad-several-problems.yaml:12:17: offsetDays must be 0 or more, found integer -1",
            "bad-several-problems.yaml:14:5: missing required field 'sender'",
            "bad-several-problems.yaml:15:16: channelId must be an integer, found string '2'",
            "bad-several-problems.yaml:16:22: messageTemplate must not be empty",
        ],
    ),
    (
        "bad-tag.yaml",
        [
            "bad-tag.yaml:11:13: YAML tags are not allowed in manifests (found !!python/object:os.system)",
        ],
    ),
    (
        "bad-template-file-escapes.yaml",
        [
            "bad-template-file-escapes.yaml:12:26: messageTemplateFile '../../../../../etc/hostname' is outside the repository",
        ],
    ),
    (
        "bad-template-file-missing.yaml",
        [
            "bad-template-file-missing.yaml:12:26: messageTemplateFile 'templates/missing.html' does not exist",
        ],
    ),
    (
        "bad-unknown-field.yaml",
        [
            "bad-unknown-field.yaml:10:5: unknown field 'chanel'; did you mean 'channel'?",
        ],
    ),
    (
        "bad-unknown-variable.yaml",
        [
            "bad-unknown-variable.yaml:11:13: unknown variable '${sendr}'; did you mean '${sender}'?",
        ],
    ),
    (
        "bad-unquoted-boolean-word.yaml",
        [
            "bad-unquoted-boolean-word.yaml:11:13: 'NO' is read as a boolean or number by some YAML parsers; quote the value ('NO')",
        ],
    ),
    (
        "bad-unquoted-number.yaml",
        [
            "bad-unquoted-number.yaml:11:13: sender must be a string, found integer 123; quote the value ('0123')",
        ],
    ),
    (
        "bad-wrong-type.yaml",
        [
            "bad-wrong-type.yaml:12:17: offsetDays must be an integer, found string '3'",
        ],
    ),
    (
        "bad-yaml-1-1.yaml",
        [
            "bad-yaml-1-1.yaml:1:1: %YAML 1.1 is not supported; manifests are YAML 1.2 (remove the directive)",
        ],
    ),
    (
        "bad-yaml-syntax.yaml",
        [
            "bad-yaml-syntax.yaml:11:11: YAML syntax error: did not find expected ',' or ']'",
        ],
    ),
]


@pytest.mark.parametrize(("name", "expected"), CASES, ids=[c[0] for c in CASES])
def test_bad_manifest_reports_exact_position_and_reason(
    name: str, expected: list[str], capsys: pytest.CaptureFixture[str], repo_root: Path
) -> None:
    """Exit 1, and every problem as one 'error: file:line:column: reason' line."""
    code = main(["validate", f"tests/data/manifests/{name}"])
    err = capsys.readouterr().err
    lines = [
        line.removeprefix("error: tests/data/manifests/")
        for line in err.splitlines()
        if line.startswith("error: ")
    ]
    assert code == 1
    assert lines == expected
    assert "Traceback" not in err


def test_every_bad_file_has_a_case() -> None:
    assert {c[0] for c in CASES} == {p.name for p in DATA.glob("bad-*.yaml")}
    assert len(CASES) >= 15


def test_several_problems_in_one_file_are_all_reported(
    capsys: pytest.CaptureFixture[str], repo_root: Path
) -> None:
    code = main(["validate", "tests/data/manifests/bad-several-problems.yaml"])
    err = capsys.readouterr().err
    assert code == 1
    assert err.count("error: ") == 6
    assert err.rstrip().endswith("6 problems found")


def test_all_files_are_reported_in_one_run(
    capsys: pytest.CaptureFixture[str], repo_root: Path
) -> None:
    code = main(["validate", "tests/data/manifests"])
    err = capsys.readouterr().err
    assert code == 1
    reported = {line.removeprefix("error: ").split(":")[0] for line in err.splitlines()}
    assert {f"tests/data/manifests/{c[0]}" for c in CASES} <= reported


def test_loaded_documents_share_their_field_name_sets_and_keep_their_contents(
    tmp_path: Path,
) -> None:
    from reconciler.manifests.load import load_manifests

    first = (
        'apiVersion: reconciler/v1\nkind: TargetCommunications\nmetadata: {name: "a"}\n'
        "target: {targetGroup: 1, target: 2}\ncommunications:\n"
        '  - {communicationType: START, channel: EMAIL, sender: "s", messageTemplate: "m"}\n'
    )
    second = first.replace('name: "a"', 'name: "b"').replace("target: 2", "target: 3")
    second = second.replace('messageTemplate: "m"}', 'messageTemplate: "m", offsetDays: 2}')
    (tmp_path / "m.yaml").write_text(
        first
        + "---\n"
        + first.replace('"a"', '"c"').replace("target: 2", "target: 4")
        + "---\n"
        + second
    )

    result = load_manifests([str(tmp_path)])

    assert result.ok, result.diagnostics
    a, c, b = (document.model for document in result.documents)
    assert a.model_fields_set is c.model_fields_set  # one set object for equal sets
    spec_a, spec_b = a.communications[0], b.communications[0]
    assert spec_a.model_fields_set == {"communicationType", "channel", "sender", "messageTemplate"}
    assert spec_b.model_fields_set == spec_a.model_fields_set | {"offsetDays"}
    assert spec_a.model_fields_set is not spec_b.model_fields_set
    assert spec_a.model_dump(exclude_unset=True) == {
        "communicationType": "START",
        "channel": "EMAIL",
        "sender": "s",
        "messageTemplate": "m",
    }


def test_loaded_documents_are_compact_and_equal_to_what_pydantic_validated(
    tmp_path: Path,
) -> None:
    """Issue 21: each loaded instance keeps its values in a key-sharing dict (less memory than
    the dict validation gives it), and the document equals the validated one, field for field."""
    import tracemalloc

    from reconciler.manifests.load import compact, load_manifests
    from reconciler.manifests.schema import TargetCommunications

    text = (
        'apiVersion: reconciler/v1\nkind: TargetCommunications\nmetadata: {name: "a"}\n'
        "target: {targetGroup: 1, target: 2}\ncommunications:\n"
        '  - {communicationType: START, channel: EMAIL, sender: "s", messageTemplate: "m"}\n'
        '  - {communicationType: CHANGE, channelId: 1, sender: "t", messageTemplate: "n"}\n'
    )
    (tmp_path / "m.yaml").write_text(text)

    (document,) = load_manifests([str(tmp_path)]).documents
    loaded = document.model
    given = loaded.model_dump(exclude_unset=True)
    validated = TargetCommunications.model_validate(given)

    assert loaded == validated
    assert loaded.model_dump_json() == validated.model_dump_json()
    assert loaded.communications[1].model_fields_set == validated.communications[1].model_fields_set

    def traced(build: Callable[[], object]) -> int:
        tracemalloc.start()
        try:
            kept = [build() for _ in range(300)]
            size = tracemalloc.get_traced_memory()[0]
        finally:
            tracemalloc.stop()
        assert len(kept) == 300
        return size

    originals = [TargetCommunications.model_validate(given) for _ in range(300)]
    them = iter(originals)
    mine = traced(lambda: compact(next(them)))
    theirs = traced(lambda: TargetCommunications.model_validate(given))
    assert mine < 0.75 * theirs, (mine, theirs)
