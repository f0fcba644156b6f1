"""``lint --fix`` (issue 17, acceptance 3): the curly-quote SMS becomes one GSM-7 segment, in
place, with the file's comments, key order and quoting kept; a second run changes nothing."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from reconciler.lint.segments import measure
from reconciler.manifests.edit import ValueEdit, edit_values
from reconciler.manifests.yamlstrict import read_documents
from tests.lint.conftest import CORPUS, Cli

FIX = CORPUS / "fix"


@pytest.fixture
def fixable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("reconciler.yaml", "manifests.yaml", "templates"):
        source = FIX / name
        if source.is_dir():
            shutil.copytree(source, tmp_path / name)
        else:
            shutil.copy(source, tmp_path / name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _reminder(text: str) -> str:
    value = read_documents(text)[0].value
    assert isinstance(value, dict)
    message = value["communications"][0]["messageTemplate"]
    assert isinstance(message, str)
    return message


def test_fix_makes_the_curly_quote_sms_one_gsm7_segment_and_keeps_the_file(
    fixable: Path, cli: Cli
) -> None:
    before = (fixable / "manifests.yaml").read_text(encoding="utf-8")
    was = measure(_reminder(before))
    assert (was.encoding, was.segments) == ("UCS-2", 3)

    code, _, err = cli("lint", "--fix", "manifests.yaml")

    after = (fixable / "manifests.yaml").read_text(encoding="utf-8")
    now = measure(_reminder(after))
    assert (now.encoding, now.segments) == ("GSM-7", 1)
    assert code == 0  # what is left are warnings: UCS-2 that no replacement can help
    assert "fixed 15 characters in 2 files: manifests.yaml, templates/finish.txt" in err
    # Exactly the expected bytes: only the replaced characters (and one scalar that had to be
    # quoted) differ; comments, key order, flow mappings and escapes are as they were.
    assert after == (FIX / "expected" / "manifests.yaml").read_text(encoding="utf-8")
    assert (fixable / "templates" / "finish.txt").read_bytes() == (
        FIX / "expected" / "templates" / "finish.txt"
    ).read_bytes()
    comments = [line for line in before.splitlines() if "#" in line and "’" not in line]
    assert comments
    assert all(line in after.splitlines() for line in comments)
    for old, new in zip(read_documents(before), read_documents(after), strict=True):
        assert isinstance(old.value, dict)
        assert isinstance(new.value, dict)
        assert [list(e) for e in old.value["communications"]] == [
            list(e) for e in new.value["communications"]
        ]
    # The email is no SMS, and the variable's character is the configuration's to change.
    assert 'subjectTemplate: "You’re in"' in after
    assert "comes from ${brand}; fix it in reconciler.yaml" in err


def test_a_second_fix_changes_nothing(fixable: Path, cli: Cli) -> None:
    cli("lint", "--fix", "manifests.yaml")
    files = {p: p.read_bytes() for p in fixable.rglob("*") if p.is_file()}
    code, out, err = cli("lint", "--fix", "manifests.yaml")
    assert {p: p.read_bytes() for p in fixable.rglob("*") if p.is_file()} == files
    assert "fixed" not in err
    assert code == 0
    assert out.startswith("ok: 2 documents in 1 file")


def test_without_fix_lint_only_reports(fixable: Path, cli: Cli) -> None:
    before = (fixable / "manifests.yaml").read_bytes()
    code, _, err = cli("lint", "manifests.yaml")
    assert (fixable / "manifests.yaml").read_bytes() == before
    assert "manifests.yaml:15:42: ’ (U+2019) (and 3 more characters) makes this SMS UCS-2: 3" in err
    assert 'fix: replace ’ (U+2019) with "\'" (reconciler lint --fix): GSM-7, 1 segment' in err
    assert code == 0


@pytest.mark.parametrize(
    ("written", "fixed"),
    [
        ("m: a’b\n", "m: a'b\n"),
        ("m: ’a\n", 'm: "\'a"\n'),  # a plain scalar cannot start with a quote: requoted
        ("m: 'it’s'\n", "m: 'it''s'\n"),
        ('m: "a\\u2019b \\"q\\""\n', 'm: "a\'b \\"q\\""\n'),
        ("m: |\n  a’b\n  c\n", "m: |\n  a'b\n  c\n"),
        ("m: >-\n  a’b\n  c’\n", "m: >-\n  a'b\n  c'\n"),
        ("m: &x “a”\nn: *x\n", 'm: &x "\\"a\\""\nn: *x\n'),
    ],
)
def test_edits_rewrite_only_the_characters_in_each_scalar_style(written: str, fixed: str) -> None:
    document = read_documents(written)[0]
    value = document.value
    assert isinstance(value, dict)
    raw = value["m"]
    replacements = {i: {"’": "'", "“": '"', "”": '"'}[c] for i, c in enumerate(raw) if c in "’“”"}
    text, failed = edit_values(written, [ValueEdit(document.values[("m",)], raw, replacements)])
    assert failed == []
    assert text == fixed
    assert read_documents(text)[0].value["m"] == "".join(
        replacements.get(i, c) for i, c in enumerate(raw)
    )  # type: ignore[index]
