"""The JSON record of an apply run (``--report FILE``, SPEC §6): what was sent and what came back.

Bodies hold communications only (what was sent, what the API stored), never a header: they are
product data and written byte for byte. Only the message fields, which may quote a server's
error, pass through the scrubber (issue 14).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

from reconciler.applier.outcomes import ApplyResult, Exchange
from reconciler.plan import Plan
from reconciler.redact import scrub

REPORT_FORMAT_VERSION = 1


def build_report(
    plan: Plan,
    result: ApplyResult | None,
    *,
    environment: str,
    started_at: datetime,
    refused: str | None = None,
    environ: Mapping[str, str] | None = None,
    pre_images: Mapping[tuple[int, int], list[dict[str, object]]] | None = None,
    labels: Mapping[tuple[int, int], Mapping[str, str]] | None = None,
    commit: str | None = None,
    endpoint: str | None = None,
) -> dict[str, object]:
    """The record of one apply (or rollback). ``pre_images``: each written target's live rows
    as read before its first write, in full (issue 19: what ``rollback`` restores);
    ``endpoint``: the API they were read from (a rollback restores on that one only)."""
    environ = os.environ if environ is None else environ
    pre_images = pre_images or {}
    labels = labels or {}
    github = {
        key: environ[name]
        for key, name in (("sha", "GITHUB_SHA"), ("runId", "GITHUB_RUN_ID"))
        if environ.get(name)
    }
    outcomes = result.outcomes if result else []
    return {
        "formatVersion": REPORT_FORMAT_VERSION,
        "environment": environment,
        **({"endpoint": endpoint} if endpoint is not None else {}),
        "startedAt": started_at.astimezone(UTC).isoformat(timespec="seconds"),
        "finishedAt": datetime.now(UTC).isoformat(timespec="seconds"),
        **({"github": github} if github else {}),
        "commit": commit,
        "refused": _scrubbed(refused),
        "interrupted": bool(result and result.interrupted),
        "summary": plan.summary.as_dict(),
        "targets": [
            {
                "targetGroupId": o.target.targetGroupId,
                "targetId": o.target.targetId,
                "name": o.target.name,
                "targetGroupName": o.target.targetGroupName,
                "targetName": o.target.targetName,
                "labels": dict(labels.get(o.target.ref, {})),
                "manifest": o.target.manifest,
                "outcome": o.status,
                "message": scrub(o.message),
                "warnings": list(o.warnings),
                "requests": [_request(e) for e in o.exchanges],
                **({"preImage": pre_images[o.target.ref]} if o.target.ref in pre_images else {}),
            }
            for o in outcomes
        ],
        **({"canary": _canary(result)} if result and result.canary_target else {}),
        **(
            {
                "repairs": [
                    {
                        "targetGroupId": o.target.targetGroupId,
                        "targetId": o.target.targetId,
                        "outcome": o.status,
                        "message": scrub(o.message),
                        "requests": [_request(e) for e in o.exchanges],
                    }
                    for o in result.repairs
                ]
            }
            if result and result.repairs
            else {}
        ),
        "unreadable": [
            {"targetGroupId": t.targetGroupId, "targetId": t.targetId, "error": _scrubbed(t.error)}
            for t in plan.unreadable
        ],
    }


def _request(exchange: Exchange) -> dict[str, object]:
    return {
        "sent": exchange.sent,
        "response": exchange.response,
        "error": _scrubbed(exchange.error),
    }


def _canary(result: ApplyResult) -> dict[str, object]:
    """What the canary (SPEC §9) wrote and found: the assumption that failed and the fix."""
    from reconciler.applier.canary import FIX

    target = result.canary_target
    assert target is not None
    found = result.canary
    return {
        "targetGroupId": target.targetGroupId,
        "targetId": target.targetId,
        "name": target.name,
        "passed": found is None,
        **(
            {}
            if found is None
            else {
                "verdict": found.verdict,
                "assumption": found.assumption,
                "detail": scrub(found.detail),
                "fix": FIX,
                # What the write emptied, as it was: the record the next apply restores from.
                **(
                    {"lostServerFields": {str(k): v for k, v in found.lost_server_fields.items()}}
                    if found.lost_server_fields
                    else {}
                ),
            }
        ),
    }


def report_text(report: dict[str, object]) -> str:
    return json.dumps(report, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write_report(path: Path, report: dict[str, object]) -> None:
    path.write_text(report_text(report), encoding="utf-8")


def append_step_summary(markdown: str, environ: Mapping[str, str] | None = None) -> None:
    """Append to ``$GITHUB_STEP_SUMMARY`` when GitHub Actions provides it (SPEC §5)."""
    environ = os.environ if environ is None else environ
    path = environ.get("GITHUB_STEP_SUMMARY")
    if path:
        with open(path, "a", encoding="utf-8") as summary:
            summary.write(markdown if markdown.endswith("\n") else markdown + "\n")


def _scrubbed(message: str | None) -> str | None:
    return None if message is None else scrub(message)


def outcome_markdown(result: ApplyResult) -> str:
    """The apply outcomes as a markdown table for the step summary."""
    from reconciler.render.markdown import code

    rows = ["| target | outcome | detail |", "| --- | --- | --- |"]
    for o in result.outcomes:
        rows.append(f"| {code(o.target.label)} | {o.status} | {code(scrub(o.message))} |")
    title = "### reconciler apply" + (" (interrupted)" if result.interrupted else "")
    return title + "\n\n" + "\n".join(rows) + "\n"


def record_run(
    path: Path | None,
    plan: Plan,
    result: ApplyResult | None,
    pre_images: Mapping[tuple[int, int], list[dict[str, object]]],
    labels: Mapping[tuple[int, int], Mapping[str, str]],
    root: Path,
    environment: str,
    *,
    started_at: datetime,
    refused: str | None,
    endpoint: str | None = None,
) -> str | None:
    """Write the run's report to ``path`` (``--report``); without one, to the history when
    anything was written (the pre-images ``rollback`` restores, issue 19). Returns why it
    could not be written, or None."""
    from reconciler.config import check_endpoint
    from reconciler.history import commit_of, store_run
    from reconciler.outputs import not_written

    if path is None and not pre_images:
        return None
    report = build_report(
        plan,
        result,
        environment=environment,
        started_at=started_at,
        refused=refused,
        pre_images=pre_images,
        labels=labels,
        commit=commit_of(root, os.environ),
        endpoint=None if endpoint is None else check_endpoint(endpoint),  # as rollback compares
    )
    try:
        if path is not None:
            write_report(path, report)
        else:
            store_run(root, environment, report_text(report), started_at)
    except (OSError, ValueError) as exc:  # --report was checked at the start; it went away
        return not_written("--report", path or root / ".reconciler" / "history", exc)
    return None
