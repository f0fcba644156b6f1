"""The rendering of a probe: the answer table, the differences and what the tool does about them,
each step's request and answer, and the clean-up; or the contract document as JSON.

Pure: returns a string. API text is printed inert (controls escaped, workflow commands
neutralised); the evidence was scrubbed of secrets when it was recorded.
"""

from __future__ import annotations

import json
import textwrap

from reconciler.contract import ContractFile
from reconciler.probe.questions import Answer, Cleanup, ProbeReport
from reconciler.render.github import neutralize_commands, one_line

ANSWER_WIDTH = 54
EVIDENCE_CHARS = 300  # per body in the text; the contract file keeps them whole


def render_probe_json(document: ContractFile) -> str:
    """The contract document, exactly as the contract file holds it."""
    return json.dumps(document.model_dump(mode="json"), indent=2, sort_keys=True) + "\n"


def render_probe_text(report: ProbeReport) -> str:
    out = [_heading(report), ""]
    if report.earlier is not None:
        out.append(f"Rows an earlier probe left (its journal): {_cleanup(report.earlier)}")
        out.append("")
    out.extend(_table(report.answers))
    out.append("")
    differs = report.differs
    if differs:
        out.append("Differences from the assumptions, and what the tool does about them:")
        out.extend(f"  ({a.id}) {a.consequence}" for a in differs)
    else:
        out.append("Every answer is as assumed.")
    out.append("")
    out.append(
        f"Evidence (without attribution, cut at {EVIDENCE_CHARS} characters; the contract file "
        "has it whole):"
    )
    for item in report.evidence:
        out.extend(_evidence(item))
    out.append("")
    out.append(f"Clean-up: {_cleanup(report.cleanup)}")
    settings = report.contract.differences()
    contract = "as assumed" if not settings else ", ".join(settings)
    if report.cleanup.complete:
        out.append(f"Contract ({contract}) written to {report.contract_file}.")
    else:
        out.append(
            f"Contract ({contract}) NOT written: the clean-up did not finish, so apply keeps "
            "its canary; run `reconciler probe` again once the rows above are inactive."
        )
    text = "\n".join(line.rstrip() for line in out) + "\n"
    return neutralize_commands(text)


def _heading(report: ProbeReport) -> str:
    channels = " and ".join(f"{name} ({cid})" for cid, name in report.channels)
    return (
        f"Probe of target {report.targetId} ({one_line(report.targetName)}) in target group "
        f"{report.targetGroupId} ({one_line(report.targetGroupName)}), environment "
        f"{report.environment}: rows of types {' and '.join(report.types)} on "
        f"{one_line(channels)}"
    )


def _assumed(answer: Answer) -> str:
    return {True: "yes", False: "NO", None: "-"}[answer.matches]


def _table(answers: list[Answer]) -> list[str]:
    labels = [f"({a.id}) {a.question.label}" for a in answers]
    width = max(len(label) for label in [*labels, "question"])
    head = f"{'question':<{width}}  {'answer':<{ANSWER_WIDTH}}  as assumed?  evidence"
    lines = [head, "-" * len(head)]
    for label, answer in zip(labels, answers, strict=True):
        wrapped = textwrap.wrap(one_line(answer.answer), ANSWER_WIDTH) or [""]
        steps = ", ".join(map(str, answer.steps))
        evidence = f"step{'s' if len(answer.steps) > 1 else ''} {steps}" if steps else "-"
        first = (
            f"{label:<{width}}  {wrapped[0]:<{ANSWER_WIDTH}}  {_assumed(answer):<11}  {evidence}"
        )
        lines.append(first)
        lines.extend(f"{'':<{width}}  {more}" for more in wrapped[1:])
    return lines


def _compact(value: object) -> object:
    """``value`` without ``attribution`` (who and when; the contract file keeps it)."""
    if isinstance(value, dict):
        return {k: _compact(v) for k, v in value.items() if k != "attribution"}
    if isinstance(value, list):
        return [_compact(v) for v in value]
    return value


def _cut(value: object) -> str:
    value = _compact(value)
    text = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
    text = one_line(text)
    return text if len(text) <= EVIDENCE_CHARS else text[: EVIDENCE_CHARS - 1] + "…"


def _evidence(item: dict[str, object]) -> list[str]:
    lines = [f"  step {item.get('step')}: {one_line(str(item.get('what', '')))}"]
    lines.append(f"    {item.get('request')}")
    if "body" in item:
        lines.append(f"    sent:   {_cut(item['body'])}")
    note = f" ({item['note']})" if "note" in item else ""
    lines.append(f"    answer: HTTP {item.get('status')} {_cut(item.get('answer'))}{note}")
    return lines


def _cleanup(cleanup: Cleanup) -> str:
    parts = []
    if cleanup.deactivated:
        parts.append(f"deactivated ids {', '.join(map(str, cleanup.deactivated))}")
    if cleanup.restored:
        parts.append(f"restored the target's own rows {', '.join(map(str, cleanup.restored))}")
    if cleanup.left:
        parts.append("COULD NOT clean up " + "; ".join(left.describe() for left in cleanup.left))
    return "; ".join(parts) + "." if parts else "nothing was left active."
