"""The lint corpus (issue 17, acceptance 1): each rule has one failing manifest under
tests/data/lint/rules/ that gives exactly its diagnostic at the right ``file:line:column``, and
the demo manifests lint clean."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from reconciler.lint.rules import RULES
from tests.lint.conftest import CORPUS, ROOT, Cli

RULE_FILES = sorted((CORPUS / "rules").glob("*.yaml"))
_EXPECT = re.compile(r"^# expect: (?:(\S+):)?(\d+):(\d+) (error|warning)$", re.M)
# What the character at a rule's position must be, when the rule points inside a template.
_AT = {
    "sms-encoding": "’",
    "placeholder-syntax": "{",
    "placeholder-unknown": "{",
    "placeholder-variable": "$",
    "liquid-tag": "{",
    "liquid-syntax": "{",
    "email-html": "<",
    "ignore-comment": "#",
}


def test_every_rule_has_exactly_one_corpus_manifest() -> None:
    assert sorted(p.stem for p in RULE_FILES) == sorted(RULES)


@pytest.mark.parametrize("path", RULE_FILES, ids=lambda p: p.stem)
def test_each_manifest_gives_exactly_its_diagnostic(
    path: Path, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = path.read_text(encoding="utf-8")
    expect = _EXPECT.search(text)
    assert expect is not None, "the manifest names its diagnostic in a '# expect:' line"
    where, line, column, severity = expect.groups()
    env = "liquid" if "# env: liquid" in text else "lint"
    monkeypatch.chdir(CORPUS)
    shown = f"rules/{path.name}"
    code, out, err = cli("--env", env, "lint", "--format", "json", shown)
    found = [(d["path"], d["line"], d["column"], d["rule"], d["severity"]) for d in json.loads(out)]
    target = f"rules/{where}" if where else shown
    assert found == [(target, int(line), int(column), path.stem, severity)], err
    assert code == (1 if severity == "error" else 0)
    if path.stem in _AT:  # the column is the character's, in the file it was written in
        written = (CORPUS / target).read_text(encoding="utf-8").splitlines()[int(line) - 1]
        assert written[int(column) - 1] == _AT[path.stem]


@pytest.mark.parametrize("env", ["sandbox", "prod-eu"])
def test_the_demo_manifests_lint_clean(env: str, cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    assert cli("--env", env, "lint") == (0, "ok: 5 documents in 2 files\n", "")
    assert cli("--env", env, "lint", "--strict") == (0, "ok: 5 documents in 2 files\n", "")
