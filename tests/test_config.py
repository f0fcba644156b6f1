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
        "reconciler.yaml:2:26: environments.x.paralelism: Extra inputs are not permitted"
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
