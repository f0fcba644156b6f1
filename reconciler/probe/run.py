"""One whole probe: an interrupted probe's rows cleaned up first, the scratch target checked,
the journal written before the first write, the sequence run, everything the probe made
cleaned up (also when a step fails), and the contract file written.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from pathlib import Path

from reconciler.api.endpoints import CapillaryClient
from reconciler.config import Settings
from reconciler.contract import ContractFile, contract_path, write_contract_file
from reconciler.errors import AuthError, PermissionDenied, ReconcilerError
from reconciler.probe.cleanup import clean_up, leftover_lines
from reconciler.probe.failures import ProbeError
from reconciler.probe.journal import (
    Journal,
    journal_path,
    read_journal,
    remove_journal,
    write_journal,
)
from reconciler.probe.questions import Cleanup, ProbeReport, ProbeRequest
from reconciler.probe.scratch import Scratch, find_scratch
from reconciler.probe.steps import Steps
from reconciler.probe.traffic import Prober

MARKER = "reconciler probe"


def _endpoint(settings: Settings) -> str:
    return settings.env.endpoint


async def _earlier(
    settings: Settings, client: CapillaryClient, request: ProbeRequest
) -> tuple[Scratch, Cleanup | None]:
    """The scratch target, after an interrupted probe's journal (if any) is cleaned up."""
    path = journal_path(settings.root, settings.environment)
    journal = read_journal(path)
    if journal is not None and journal.endpoint != _endpoint(settings):
        raise ProbeError(
            f"{path} is the journal of a probe against {journal.endpoint}, not "
            f"{_endpoint(settings)}; run the probe against that endpoint to clean it up, or "
            "delete the file once its target has no active rows left by the probe"
        )
    scratch = await find_scratch(settings, client, request, journal)  # refusals write nothing
    if journal is None:
        return scratch, None
    earlier = await clean_up(client, journal)
    if not earlier.complete:
        raise ProbeError(
            "an earlier probe (interrupted, or its clean-up failed) left rows this one could not clean up either",
            leftover_lines(earlier, str(path)),
        )
    remove_journal(path)
    same = (journal.targetGroupId, journal.targetId) == (scratch.group.id, scratch.target.id)
    if same:  # its rows are gone now: look at the target again, as it really is
        scratch = await find_scratch(settings, client, request, None)
    return scratch, earlier


async def run_probe(
    settings: Settings,
    client: CapillaryClient,
    request: ProbeRequest,
    *,
    now: datetime | None = None,
) -> ProbeReport:
    """Probe ``request``'s scratch target and write the environment's contract file.

    Raises ``ProbeRefused`` (nothing written) or ``ProbeError`` (its lines say what the
    clean-up did). An interruption leaves the journal, which the next probe cleans up first.
    """
    scratch, earlier = await _earlier(settings, client, request)
    started = (now or datetime.now(UTC)).isoformat(timespec="seconds")
    journal_file = journal_path(settings.root, settings.environment)
    journal = Journal(
        environment=settings.environment,
        endpoint=_endpoint(settings),
        targetGroupId=scratch.group.id,
        targetId=scratch.target.id,
        marker=f"{MARKER} {secrets.token_hex(4)}",
        startedAt=started,
    )
    prober = Prober(client, journal, journal_file, scratch.baseline)
    prober.save()  # before the first write
    steps = Steps(prober, scratch)
    try:
        await steps.run()
    except (AuthError, PermissionDenied) as exc:
        if journal.created:  # rows were made before the credentials stopped working
            raise ProbeError(
                exc.message, await _after_failure(client, journal, str(journal_file))
            ) from None
        # Refused, not written: a 401 or 403 stores nothing, so there is nothing to clean up.
        remove_journal(journal_file)
        raise ProbeError(exc.message, ["nothing was written: the probe made no rows"]) from None
    except ReconcilerError as exc:
        raise ProbeError(
            exc.message, await _after_failure(client, journal, str(journal_file))
        ) from None
    cleanup = await clean_up(client, journal)
    if cleanup.complete:
        remove_journal(journal_file)
    else:
        write_journal(journal_file, journal)
    contract = steps.contract()
    target_file = contract_path(settings.root, settings.environment)
    answers = [steps.answers[q] for q in sorted(steps.answers)]
    document = ContractFile(
        environment=settings.environment,
        endpoint=_endpoint(settings),
        probedAt=started,
        targetGroupId=scratch.group.id,
        targetId=scratch.target.id,
        contract=contract,
        answers=[a.to_json(prober.evidence) for a in answers],
    )
    if cleanup.complete:
        # A probe that could not clean up did not end as it should: its answers are shown, but
        # no contract is written that would switch off apply's canary on this org.
        write_contract_file(target_file, document)
    return ProbeReport(
        environment=settings.environment,
        endpoint=_endpoint(settings),
        probedAt=started,
        targetGroupId=scratch.group.id,
        targetGroupName=scratch.group.name,
        targetId=scratch.target.id,
        targetName=scratch.target.name,
        channels=[(c.id, c.name) for c in (scratch.first, scratch.second) if c is not None],
        types=scratch.types,
        answers=answers,
        evidence=prober.evidence,
        contract=contract,
        cleanup=cleanup,
        document=document,
        contract_file=str(target_file),
        journal_file=str(journal_file),
        earlier=earlier,
    )


async def _after_failure(client: CapillaryClient, journal: Journal, journal_file: str) -> list[str]:
    """Clean up after a step failed; the lines say what was, or could not be, cleaned up."""
    try:
        cleanup = await clean_up(client, journal)
    except ReconcilerError as exc:
        return [
            f"the clean-up failed too ({exc.message}); the journal {journal_file} lists the "
            "probe's rows, and the next `reconciler probe` on this environment cleans them up first"
        ]
    if cleanup.complete:
        remove_journal(Path(journal_file))
        done = ", ".join(map(str, cleanup.deactivated)) or "none were active"
        return [f"cleaned up: the probe's rows are inactive (deactivated: {done})"]
    write_journal(Path(journal_file), journal)
    return leftover_lines(cleanup, journal_file)
