"""Issue 14 item 7 (SPEC §4, §6): a declared key has exactly one active row after apply.

- Live duplicates of a declared key are deactivated with ``prune: false`` too (prune concerns
  undeclared keys only), and the safety threshold does not stand in the way.
- After ambiguous-write recovery the target is re-read; a duplicate the recovery produced (a
  create that was not visible yet, sent again, and then both landed) is deactivated and
  reported ("removed a duplicate"), never left behind under a plain "recovered".
"""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

from reconciler.api import BasicCredentials, CapillaryClient, ClientSettings
from reconciler.applier.execute import Applier, ApplyResult
from reconciler.config import select
from reconciler.live import Selection, make_run_plan
from reconciler.sandbox import Fault
from reconciler.sandbox.seed import EMAIL
from tests.conftest import SandboxFactory
from tests.support.cli import FAST_RETRIES, PASSWORD, USERNAME, Run, write_config
from tests.support.manifests import communication, manifest
from tests.support.sandbox import active_key_counts, assert_no_duplicates, writes

ROOT = Path(__file__).resolve().parents[2]


def test_duplicates_of_a_declared_key_are_deactivated_without_prune(
    repo: Path, sandbox_factory: SandboxFactory, cli: Run
) -> None:
    """The demo's 2402 has ``prune: false`` and two active START on EMAIL (5131 older)."""
    shutil.rmtree(repo / "manifests")
    shutil.copytree(ROOT / "manifests", repo / "manifests")
    server = sandbox_factory()
    write_config(repo, server.url)
    assert active_key_counts(server.store, 2170, 2402)[("START", EMAIL)] == 2

    code, out, err = cli("apply", "--auto-approve")

    assert code == 0, out + err
    assert "id 5131 — live duplicate" in out
    live = {c["id"]: c for c in server.store.communications(2170, 2402)}
    assert not live[5131]["active"]
    assert live[5132]["active"]
    assert live[5134]["active"]  # the undeclared CHANGE on SMS stays: prune is off
    assert_no_duplicates(server.store, [(2170, 2402)])
    assert cli("plan", "--detailed-exitcode")[0] == 0


WANTED = [
    communication("START", EMAIL, "Hi {{first_name}}", subject="In"),
    communication("FINISH", EMAIL, "Done, {{first_name}}", subject="Out"),
]


def test_a_duplicate_made_by_recovery_is_removed_and_reported(
    repo: Path, sandbox_factory: SandboxFactory
) -> None:
    """The first upsert commits, then fails with a 500; reads lag 1.5 s behind writes, longer
    than the settle delay, so recovery cannot see the inserts and sends them again."""
    (repo / "manifests" / "t.yaml").write_text(manifest("inserts", 2163, 2319, WANTED))
    server = sandbox_factory(read_lag_ms=1500, write_script={1: Fault.AMBIGUOUS_500})
    write_config(repo, server.url)
    settings = select(repo / "reconciler.yaml", environ={})

    async def run() -> ApplyResult:
        client_settings = ClientSettings(
            base_url=server.url,
            credentials=BasicCredentials(USERNAME, PASSWORD),
            **FAST_RETRIES,  # type: ignore[arg-type]
        )
        async with CapillaryClient(client_settings) as client:
            plan = await make_run_plan(settings, Selection(), client, parallelism=2)
            return await Applier(client, settle_seconds=0.6).apply(plan)

    result = asyncio.run(run())

    (outcome,) = result.outcomes
    assert outcome.status == "recovered", outcome.message
    assert "recovered after ambiguous write, removed 2 duplicates" in outcome.message
    sent = writes(server.store.request_log())
    assert [(r.status, r.committed) for r in sent][:2] == [(500, True), (200, True)]
    assert len(sent) == 3  # the lost write, the resend, the deactivation of the duplicates
    assert_no_duplicates(server.store, [(2163, 2319)])
    live = server.store.communications(2163, 2319)
    assert sorted((c["communicationType"], c["active"]) for c in live) == [
        ("FINISH", False),
        ("FINISH", True),
        ("START", False),
        ("START", True),
    ]
