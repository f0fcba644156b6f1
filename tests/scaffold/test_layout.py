"""What `reconciler init` renders: every placeholder filled, this version pinned, the answers
checked before anything is written."""

from __future__ import annotations

import json
import re

import pytest

from reconciler import __version__
from reconciler.errors import UsageError
from reconciler.manifests.schema import json_schema
from reconciler.scaffold.layout import ACTION_REPOSITORY, SCHEMA_PATH, Answers, render, skeleton


def files(answers: Answers | None = None) -> dict[str, str]:
    return {f.path: f.text for f in render((answers or Answers()).checked())}


def test_the_file_set() -> None:
    assert set(files()) == {
        "reconciler.yaml",
        "manifests/example.yaml",
        ".gitignore",
        "README.md",
        ".pre-commit-config.yaml",
        ".github/workflows/plan.yml",
        ".github/workflows/apply.yml",
        ".github/workflows/drift.yml",
        SCHEMA_PATH,
    }
    generated = {f.path for f in render(Answers()) if f.generated}
    assert generated == {
        ".pre-commit-config.yaml",
        ".github/workflows/plan.yml",
        ".github/workflows/apply.yml",
        ".github/workflows/drift.yml",
        SCHEMA_PATH,
    }


def test_every_placeholder_is_filled_and_the_answers_appear() -> None:
    rendered = files(Answers("prod-us", "https://us.api.capillarytech.com/", "basic"))
    for path, text in rendered.items():
        assert not re.search(r"@[A-Z]+@", text), path
    config = rendered["reconciler.yaml"]
    assert "  prod-us:\n    endpoint: https://us.api.capillarytech.com\n    auth: basic" in config
    assert "CAPILLARY_USERNAME, CAPILLARY_PASSWORD" in config
    assert "`CAPILLARY_USERNAME` and `CAPILLARY_PASSWORD`" in rendered["README.md"]
    for name in ("plan", "apply", "drift"):
        workflow = rendered[f".github/workflows/{name}.yml"]
        assert "vars.RECONCILER_ENV || 'prod-us'" in workflow
        assert f"uses: {ACTION_REPOSITORY}@v{__version__}\n" in workflow


def test_no_file_keeps_the_default_environment_when_another_is_named() -> None:
    # Found in review: drift.yml's issue job titled the drift issue after prod-eu whatever
    # environment init was given.
    rendered = files(Answers("staging", "https://staging.api.capillarytech.com", "oauth"))
    for path, text in rendered.items():
        assert "prod-eu" not in text, path
    drift = rendered[".github/workflows/drift.yml"]
    assert drift.count("vars.RECONCILER_ENV || 'staging'") == 3


def test_the_version_is_pinned_everywhere_it_is_named() -> None:
    rendered = files()
    assert f"rev: v{__version__}\n" in rendered[".pre-commit-config.yaml"]
    assert f"https://github.com/{ACTION_REPOSITORY}\n" in rendered[".pre-commit-config.yaml"]
    assert json.loads(rendered[SCHEMA_PATH]) == json.loads(json_schema())


def test_the_example_has_the_modeline_of_the_schema_it_ships() -> None:
    example = files()["manifests/example.yaml"]
    assert example.startswith(f"# yaml-language-server: $schema=../{SCHEMA_PATH}\n")


def test_gitignore_keeps_the_contract_committable() -> None:
    lines = files()[".gitignore"].splitlines()
    assert lines.index(".reconciler/*") < lines.index("!.reconciler/contract-*.json")


def test_the_skeleton_is_read_from_the_package() -> None:
    assert skeleton("workflows/plan.yml").startswith("# Plan on every pull request")


@pytest.mark.parametrize(
    ("answers", "message"),
    [
        (Answers(environment="Prod EU"), "--environment must be lower-case"),
        (Answers(environment="sandbox"), "'sandbox' is always there"),
        (Answers(auth="token"), "--auth must be one of oauth, basic, not 'token'"),
        (Answers(endpoint="http://api.example.com"), "--endpoint:"),
        (Answers(endpoint="sandbox"), "--endpoint must be the URL"),
        (Answers(endpoint="https://user:pw@eu.api.capillarytech.com"), "--endpoint:"),
    ],
)
def test_bad_answers_are_usage_errors(answers: Answers, message: str) -> None:
    with pytest.raises(UsageError, match=re.escape(message)):
        answers.checked()
