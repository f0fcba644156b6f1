"""The contract a run honours: defaults are the assumptions, the probed file, then reconciler.yaml."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.contract import (
    Contract,
    ContractFile,
    ContractSettings,
    active_contract,
    contract_path,
    write_contract_file,
)
from reconciler.errors import ConfigError


def _probed(root: Path, **settings: object) -> Path:
    path = contract_path(root, "prod")
    document = ContractFile(
        environment="prod",
        endpoint="https://eu.api.capillarytech.com",
        probedAt="2026-12-02T01:00:00Z",
        targetGroupId=1,
        targetId=2,
        contract=Contract.model_validate(settings),
    )
    write_contract_file(path, document)
    return path


def test_nothing_probed_or_stated_is_the_assumptions_unproven(tmp_path: Path) -> None:
    active = active_contract(tmp_path, "prod")
    assert (active.contract, active.origin, active.proven) == (Contract(), "assumed", False)
    assert active.contract.differences() == []


def test_the_probed_file_is_used_and_is_proven(tmp_path: Path) -> None:
    path = _probed(tmp_path, upsert="replace", inactiveRowsVisible=False)
    active = active_contract(tmp_path, "prod")
    assert (active.origin, active.path, active.proven) == ("file", path, True)
    assert active.contract.differences() == ['upsert: "replace"', "inactiveRowsVisible: false"]
    assert active_contract(tmp_path, "other").origin == "assumed"


def test_reconciler_yaml_states_settings_over_the_file(tmp_path: Path) -> None:
    _probed(tmp_path, upsert="replace")
    stated = ContractSettings(body="object")
    active = active_contract(tmp_path, "prod", stated)
    assert (active.contract.upsert, active.contract.body, active.origin) == (
        "replace",
        "object",
        "file",
    )
    only_config = active_contract(tmp_path, "staging", ContractSettings(keepsServerFields=False))
    assert (only_config.origin, only_config.contract.keepsServerFields) == ("config", False)


def test_a_damaged_file_is_one_clear_error(tmp_path: Path) -> None:
    path = contract_path(tmp_path, "prod")
    path.parent.mkdir()
    path.write_text('{"version": 1, "contract": {"upsert": "sometimes"}}', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"not a contract file written by `reconciler probe`"):
        active_contract(tmp_path, "prod")


def test_the_contract_file_is_committable() -> None:
    """.reconciler/ is ignored except the contract files, which a team commits."""
    import subprocess

    root = Path(__file__).resolve().parents[1]
    ignored = subprocess.run(
        ["git", "check-ignore", "-q", ".reconciler/contract-prod.json"], cwd=root, check=False
    )
    assert ignored.returncode == 1
    lock = subprocess.run(["git", "check-ignore", "-q", ".reconciler/apply.lock"], cwd=root)
    assert lock.returncode == 0


def test_a_file_probed_against_another_endpoint_is_refused(tmp_path: Path) -> None:
    """A contract proves nothing about another server: no silent use, and no silent canary off."""
    _probed(tmp_path, body="object")
    here = "https://eu.api.capillarytech.com"
    assert active_contract(tmp_path, "prod", endpoint=here).contract.body == "object"
    with pytest.raises(ConfigError, match=r"probed on 'prod' at https://eu\.api\..*this run uses"):
        active_contract(tmp_path, "prod", endpoint="https://apac2.api.capillarytech.com")
