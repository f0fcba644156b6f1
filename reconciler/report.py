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
) -> dict[str, object]:
    environ = os.environ if environ is None else environ
    github = {
        key: environ[name]
        for key, name in (("sha", "GITHUB_SHA"), ("runId", "GITHUB_RUN_ID"))
        if environ.get(name)
    }
    outcomes = result.outcomes if result else []
    return {
        "formatVersion": REPORT_FORMAT_VERSION,
        "environment": environment,
        "startedAt": started_at.astimezone(UTC).isoformat(timespec="seconds"),
        "finishedAt": datetime.now(UTC).isoformat(timespec="seconds"),
        **({"github": github} if github else {}),
        "refused": _scrubbed(refused),
        "interrupted": bool(result and result.interrupted),
        "summary": plan.summary.as_dict(),
        "targets": [
            {
                "targetGroupId": o.target.targetGroupId,
                "targetId": o.target.targetId,
                "name": o.target.name,
                "manifest": o.target.manifest,
                "outcome": o.status,
                "message": scrub(o.message),
                "warnings": list(o.warnings),
                "requests": [_request(e) for e in o.exchanges],
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


def write_report(path: Path, report: dict[str, object]) -> None:
    text = json.dumps(report, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    path.write_text(text, encoding="utf-8")


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
