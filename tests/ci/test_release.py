"""Issue 20: the release workflow, read as data (tag trigger, least privilege, trusted
publishing with no token secret, the wheel test before publishing), and its version check run
with bash against a copy of the files it reads."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from reconciler import __version__
from tests.support import ROOT
from tests.support.workflows import jobs, load, steps, triggers, uses_secrets

PUBLISH = "pypa/gh-action-pypi-publish@"


def test_runs_on_version_tags_only() -> None:
    assert triggers(load("release")) == {"push": {"tags": ["v[0-9]*"]}}


def test_build_checks_the_version_then_tests_the_wheel_it_uploads() -> None:
    build = jobs(load("release"))["build"]
    names = [s.get("id") or s.get("name") or s.get("uses", "").split("@")[0] for s in steps(build)]
    assert names.index("version") < names.index("Build the sdist and the wheel")
    wheel_test = next(s for s in steps(build) if "tests/distribution" in str(s.get("run")))
    assert wheel_test["env"] == {"RECONCILER_DIST": "dist"}  # the files that are published
    assert names.index("Test the wheel in a new virtual environment") < names.index(
        "actions/upload-artifact"
    )


def test_publishing_is_trusted_and_needs_no_secret() -> None:
    release = load("release")
    assert not uses_secrets(release)
    publish = jobs(release)["publish"]
    assert publish["needs"] == "build"
    assert publish["permissions"] == {"id-token": "write"}
    assert publish["environment"]["name"] == "pypi"
    [step] = [s for s in steps(publish) if str(s.get("uses", "")).startswith(PUBLISH)]
    assert "with" not in step  # no password, no token, no repository override
    attach = jobs(release)["github-release"]
    assert attach["needs"] == "publish"
    assert attach["permissions"] == {"contents": "write"}
    assert "gh release create" in next(s["run"] for s in steps(attach) if "run" in s)


def version_check(tmp_path: Path, tag: str, action_version: str = __version__) -> tuple[int, str]:
    copy = tmp_path / "checkout"
    (copy / "reconciler").mkdir(parents=True)
    shutil.copy2(ROOT / "reconciler" / "__init__.py", copy / "reconciler" / "__init__.py")
    action = (ROOT / "action.yml").read_text()
    (copy / "action.yml").write_text(
        action.replace(f'default: "{__version__}"', f'default: "{action_version}"')
    )
    script = next(s for s in steps(jobs(load("release"))["build"]) if s.get("id") == "version")
    output = tmp_path / "output"
    output.write_text("")
    done = subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script["run"]],
        cwd=copy,
        env={"PATH": "/usr/bin:/bin", "GITHUB_REF_NAME": tag, "GITHUB_OUTPUT": str(output)},
        capture_output=True,
        text=True,
        check=False,
    )
    return done.returncode, done.stdout + output.read_text()


def test_the_tag_of_this_version_passes(tmp_path: Path) -> None:
    assert version_check(tmp_path, f"v{__version__}") == (0, f"version={__version__}\n")


@pytest.mark.parametrize("tag", ["v9.9.9", __version__, f"v{__version__}.1", f"v{__version__}rc1"])
def test_another_tag_fails_and_says_why(tmp_path: Path, tag: str) -> None:
    code, text = version_check(tmp_path, tag)
    assert code == 1
    assert f"tag {tag} does not match version {__version__}" in text


def test_an_action_default_left_behind_fails(tmp_path: Path) -> None:
    code, text = version_check(tmp_path, f"v{__version__}", action_version="0.0.1")
    assert code == 1
    assert "action.yml's version input does not default to" in text
