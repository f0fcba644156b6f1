"""`reconciler validate` and `schema` end to end through main(argv) (SPEC §3, §5)."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from reconciler.cli import main
from reconciler.manifests.yamlstrict import read_documents


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_shipped_manifests_are_valid(repo_root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(["validate", "manifests/"], capsys)
    assert (code, err) == (0, "")
    assert out == "ok: 5 documents in 2 files\n"


def test_schema_validates_every_shipped_example(
    repo_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(["schema"], capsys)
    assert code == 0
    schema = json.loads(out)
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    documents = [
        d.value
        for path in sorted((repo_root / "manifests").glob("*.yaml"))
        for d in read_documents(path.read_text())
    ]
    assert len(documents) == 5
    for document in documents:
        validator.validate(document)


def test_schema_rejects_what_validate_rejects(
    repo_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run(["schema"], capsys)
    schema = json.loads((repo_root / "schema" / "manifest.schema.json").read_text())
    bad = {
        "apiVersion": "reconciler/v1",
        "kind": "TargetCommunications",
        "metadata": {"name": "x"},
        "target": {"targetGroup": 1, "target": 2},
        "communications": [
            {"communicationType": "START", "channel": "SMS", "channelId": 1, "sender": "S"}
        ],
    }
    assert list(jsonschema.Draft202012Validator(schema).iter_errors(bad))


def test_committed_schema_matches_the_command(
    repo_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The editors' copy (schema/manifest.schema.json) must not drift from the models."""
    _, out, _ = run(["schema"], capsys)
    assert (repo_root / "schema" / "manifest.schema.json").read_text() == out


def test_examples_point_editors_at_the_schema(repo_root: Path) -> None:
    for path in (repo_root / "manifests").glob("*.yaml"):
        first = path.read_text().splitlines()[0]
        assert first == "# yaml-language-server: $schema=../schema/manifest.schema.json"


def test_github_format_prints_annotations(
    repo_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(
        ["validate", "--format", "github", "tests/data/manifests/bad-unknown-field.yaml"], capsys
    )
    assert code == 1
    assert out == (
        "::error file=tests/data/manifests/bad-unknown-field.yaml,line=10,col=5::"
        "unknown field 'chanel'; did you mean 'channel'?\n"
    )


def test_json_format_prints_a_list_of_diagnostics(
    repo_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(
        ["validate", "--format", "json", "tests/data/manifests/bad-wrong-type.yaml"], capsys
    )
    assert code == 1
    assert json.loads(out) == [
        {
            "path": "tests/data/manifests/bad-wrong-type.yaml",
            "line": 12,
            "column": 17,
            "message": "offsetDays must be an integer, found string '3'",
        }
    ]


def test_json_format_of_valid_manifests_is_an_empty_list(
    repo_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(["validate", "--format", "json"], capsys)
    assert (code, json.loads(out)) == (0, [])


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"a: [1,\n", "bad.yaml:2:1: YAML syntax error"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "bad.yaml:1:1: file is not valid UTF-8 text"),
        (b"apiVersion: reconciler/v1\x00\n", "bad.yaml:1:26: file contains a NUL byte"),
    ],
    ids=["invalid-yaml", "binary", "nul"],
)
def test_unreadable_files_give_one_clear_error(
    content: bytes,
    expected: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("bad.yaml").write_bytes(content)
    code, _out, err = run(["validate", "bad.yaml"], capsys)
    errors = [line for line in err.splitlines() if line.startswith("error: ")]
    assert code == 1
    assert len(errors) == 1
    assert errors[0].startswith(f"error: {expected}")
    assert "Traceback" not in err


def test_directory_without_manifests(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("empty").mkdir()
    Path("empty/readme.txt").write_text("nothing here")
    code, _, err = run(["validate", "empty"], capsys)
    assert code == 1
    assert err.splitlines()[0] == "error: empty: no manifests (*.yaml, *.yml) in this directory"


def test_missing_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    code, _, err = run(["validate", "nope.yaml"], capsys)
    assert code == 1
    assert err.splitlines()[0] == "error: nope.yaml: no such file or directory"


def test_twenty_megabyte_file_is_refused_before_parsing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("huge.yaml").write_bytes(b"# padding\n" * 2_000_000)
    code, _, err = run(["validate", "huge.yaml"], capsys)
    assert code == 1
    assert err.splitlines()[0] == (
        "error: huge.yaml: file is 20,000,000 bytes; manifests are limited to 1 MiB"
    )


@pytest.mark.parametrize(
    "argv",
    [["validate", "--format", "yaml"], ["--bogus"], ["validate", "--format"], ["nope"]],
)
def test_usage_errors_exit_1_never_2(
    argv: list[str], repo_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(argv, capsys)
    assert code == 1
    assert err.startswith("error: ")
    assert "Traceback" not in err


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    from reconciler import __version__

    code, out, _ = run(["--version"], capsys)
    assert (code, out) == (0, f"reconciler {__version__}\n")
