"""Environment selection and the CI rule of SPEC §7."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.config import check_endpoint, select
from reconciler.errors import ConfigError, ValidationFailed

CONFIG = """\
defaultEnvironment: staging
environments:
  staging: {endpoint: sandbox, vars: {sender: s@example.com}}
  prod: {endpoint: "https://eu.api.capillarytech.com", auth: basic, rateLimit: 1000}
"""


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "reconciler.yaml"
    path.write_text(CONFIG)
    return path


def test_no_configuration_means_sandbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    settings = select(environ={})
    assert (settings.environment, settings.is_sandbox) == ("sandbox", True)
    assert settings.manifests == ("manifests",)


def test_precedence_flag_then_variable_then_default(config: Path) -> None:
    assert select(environ={}).environment == "staging"
    assert select(environ={"RECONCILER_ENV": "prod"}).environment == "prod"
    assert select(None, "staging", environ={"RECONCILER_ENV": "prod"}).environment == "staging"


def test_unknown_environment_lists_the_known_ones(config: Path) -> None:
    with pytest.raises(ConfigError, match=r"unknown environment 'qa' \(defined: prod, staging\)"):
        select(None, "qa", environ={})


def test_ci_refuses_an_implicit_sandbox(config: Path) -> None:
    with pytest.raises(ConfigError, match="CI is set"):
        select(environ={"CI": "true"})


def test_ci_accepts_a_sandbox_named_explicitly(config: Path) -> None:
    assert select(None, "staging", environ={"CI": "true"}).is_sandbox
    assert select(environ={"CI": "true", "RECONCILER_ENV": "staging"}).is_sandbox


def test_ci_rule_does_not_concern_offline_validation(config: Path) -> None:
    assert select(environ={"CI": "true"}, network=False).environment == "staging"


def test_ci_without_configuration_needs_the_sandbox_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match="CI is set"):
        select(environ={"CI": "1"})
    assert select(None, "sandbox", environ={"CI": "1"}).is_sandbox


def test_unknown_configuration_field_is_located(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("reconciler.yaml").write_text("environments:\n  x: {endpoint: sandbox, paralelism: 2}\n")
    with pytest.raises(ValidationFailed) as info:
        select(environ={})
    assert info.value.lines() == [
        "reconciler.yaml:2:26: environments.x: unknown field 'paralelism'; did you mean 'parallelism'?"
    ]


@pytest.mark.parametrize(
    "endpoint",
    ["http://10.0.0.1", "http://eu.api.capillarytech.com", "ftp://x", "https://u:p@host"],
)
def test_insecure_or_odd_endpoints_are_refused(endpoint: str) -> None:
    with pytest.raises(ConfigError):
        check_endpoint(endpoint)


@pytest.mark.parametrize(
    "endpoint",
    ["sandbox", "https://eu.api.capillarytech.com", "http://127.0.0.1:8080", "http://[::1]:1"],
)
def test_https_and_loopback_http_are_accepted(endpoint: str) -> None:
    assert check_endpoint(endpoint)


# --- finding reconciler.yaml (issue 20 item 6) ----------------------------------------------


def test_found_by_walking_up_from_a_subdirectory(
    config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "reconciler.yaml").write_text(CONFIG + "manifests: config/manifests/\n")
    deep = tmp_path / "config" / "manifests" / "crm"
    deep.mkdir(parents=True)
    monkeypatch.chdir(deep)
    settings = select(environ={})
    assert settings.environment == "staging"
    assert settings.config_path is not None
    assert settings.config_path.resolve() == (tmp_path / "reconciler.yaml").resolve()
    assert settings.root == tmp_path.resolve()
    # The manifests directory is the configuration's, not ./config/manifests of the subdirectory.
    assert [Path(m).resolve() for m in settings.manifests] == [
        (tmp_path / "config" / "manifests").resolve()
    ]


def test_the_walk_stops_at_the_repository_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "reconciler.yaml").write_text(CONFIG)
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / "src").mkdir()
    monkeypatch.chdir(repo / "src")
    assert select(environ={}).config_path is None  # not the file above the repository


def test_a_file_of_another_user_found_by_the_walk_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Found in review: outside a repository the walk reached a shared directory such as /tmp,
    where anyone may leave a reconciler.yaml that sends the credentials to their endpoint."""
    import os

    planted = tmp_path / "reconciler.yaml"
    planted.write_text(
        "defaultEnvironment: x\nenvironments:\n  x: {endpoint: 'https://evil.example'}\n"
    )
    if not hasattr(os, "geteuid"):
        pytest.skip("no file ownership here")
    try:
        os.chown(planted, os.geteuid() + 4242, -1)
    except PermissionError:
        pytest.skip("only root can give a file to another user")
    (tmp_path / "work").mkdir()
    monkeypatch.chdir(tmp_path / "work")
    with pytest.raises(ConfigError) as caught:
        select(environ={})
    assert "belongs to another user" in caught.value.message
    assert "--config" in caught.value.message
    # Named explicitly, it is the user's choice.
    assert select(config_path=planted, environ={}).env.endpoint == "https://evil.example"


def test_a_named_environment_without_a_configuration_says_so_plainly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    for how in ({"env_name": "prod-eu", "environ": {}}, {"environ": {"RECONCILER_ENV": "prod-eu"}}):
        with pytest.raises(ConfigError) as caught:
            select(**how)  # type: ignore[arg-type]
        message = caught.value.message
        assert "no reconciler.yaml" in message
        assert str(tmp_path.resolve()) in message
        assert "prod-eu" in message
        assert "--config" in message


def test_the_cli_from_a_subdirectory_validates_the_configured_manifests(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from reconciler.cli import main

    (tmp_path / "reconciler.yaml").write_text("manifests: m/\n")
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "bad.yaml").write_text("apiVersion: reconciler/v1\n")
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    assert main(["validate"]) == 1
    assert "bad.yaml" in capsys.readouterr().err


# --- configuration errors as good as manifest errors (issue 20 item 7) ------------------------

BAD = """\
manifest: m/
defaultEnvironment: prod
environments:
  prod:
    endpoint: https://x.example
    auth: oath
    parallelism: "8"
    rateLimt: 5
    maxDeactivatePercent: 200
    vars: {a: 1}
  qa: {auth: basic}
"""


def test_every_configuration_problem_at_its_position_in_plain_words(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "reconciler.yaml").write_text(BAD)
    with pytest.raises(ValidationFailed) as caught:
        select(environ={})
    lines = {d.render() for d in caught.value.diagnostics}
    assert lines == {
        "reconciler.yaml:1:1: unknown field 'manifest'; did you mean 'manifests'?",
        "reconciler.yaml:10:15: environments.prod.vars.a must be a string, found integer 1;"
        " quote the value ('1')",
        "reconciler.yaml:11:7: environments.qa: missing required field 'endpoint'",
        "reconciler.yaml:6:11: environments.prod.auth must be one of 'oauth' or 'basic', found"
        " string 'oath'; did you mean 'oauth'?",
        "reconciler.yaml:7:18: environments.prod.parallelism must be an integer, found string '8'",
        "reconciler.yaml:8:5: environments.prod: unknown field 'rateLimt'; did you mean"
        " 'rateLimit'?",
        "reconciler.yaml:9:27: environments.prod.maxDeactivatePercent must be 100 or less,"
        " found integer 200",
    }
    assert not any("Input should" in line or "Extra inputs" in line for line in lines)


def test_an_unknown_key_far_from_any_lists_what_is_allowed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "reconciler.yaml").write_text("environments:\n  a: {endpoint: sandbox, zzz: 1}\n")
    with pytest.raises(ValidationFailed) as caught:
        select(environ={})
    (line,) = [d.render() for d in caught.value.diagnostics]
    assert line.startswith("reconciler.yaml:2:26: environments.a: unknown field 'zzz'; expected")
    assert "endpoint, auth, parallelism" in line


def test_a_range_below_the_minimum_names_the_minimum(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "reconciler.yaml").write_text(
        "environments:\n  a: {endpoint: sandbox, parallelism: 0}\n"
    )
    with pytest.raises(ValidationFailed) as caught:
        select(environ={})
    (line,) = [d.render() for d in caught.value.diagnostics]
    assert line.endswith("environments.a.parallelism must be 1 or more, found integer 0")


# Found in review: an endpoint the client refuses was reported without file, line or the
# environment's name, and only when that environment was selected (validate let it pass).
def test_a_refused_endpoint_is_a_configuration_problem_at_its_position(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "reconciler.yaml").write_text(
        "environments:\n"
        "  sandbox: {endpoint: sandbox}\n"
        "  prod:\n"
        "    endpoint: https://user:s3cr3t-pw@eu.api.capillarytech.com\n"
        "  qa:\n"
        "    endpoint: http://qa.example.com\n"
    )
    with pytest.raises(ValidationFailed) as caught:
        select(env_name="sandbox", environ={})
    lines = [d.render() for d in caught.value.diagnostics]
    assert lines == [
        "reconciler.yaml:4:15: environments.prod.endpoint: https://eu.api.capillarytech.com must"
        " not contain a user name or password; credentials come from CAPILLARY_* environment"
        " variables",
        "reconciler.yaml:6:15: environments.qa.endpoint: http://qa.example.com uses plain"
        " http:// to a non-loopback host; use https:// (plain http is allowed only for"
        " localhost, 127.0.0.0/8 and ::1)",
    ]
    assert "s3cr3t" not in str(lines)


# Found in review: `manifests:` (a path or a list of paths) was worded as a manifest's target
# reference: "must be an id (integer) or an exact name (string)".
@pytest.mark.parametrize(
    ("text", "line"),
    [
        (
            "manifests: 5\n",
            "reconciler.yaml:1:12: manifests must be a string or a list of"
            " strings, found integer 5",
        ),
        (
            "manifests: {a: b}\n",
            "reconciler.yaml:1:12: manifests must be a string or a list of"
            " strings, found a mapping",
        ),
        (
            "manifests: [m/, 5]\n",
            "reconciler.yaml:1:17: manifests.1 must be a string, found"
            " integer 5; quote the value ('5')",
        ),
    ],
)
def test_a_wrong_manifests_value_is_worded_for_what_it_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, line: str
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "reconciler.yaml").write_text(text)
    with pytest.raises(ValidationFailed) as caught:
        select(environ={})
    assert [d.render() for d in caught.value.diagnostics] == [line]
