"""Plans to render and checks of what renders: the golden scenario (one plan covering every
action, a live duplicate, a re-activation, a channel move, a no-change target and an unreadable
target; issue 5, acceptance 2) and the markdown well-formedness check.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from reconciler.api.wire import Communication
from reconciler.desired import DesiredCommunication, DesiredTarget, Source
from reconciler.plan import Plan
from reconciler.planner import LiveRead, ReadFailure, make_plan

SMS, EMAIL, PUSH = 1, 2, 3
CHANNELS = {SMS: "SMS", EMAIL: "EMAIL", PUSH: "MOBILE PUSH"}
GENERATED_AT = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
SPRING = "manifests/spring-sprint.yaml"
SUMMER = "manifests/summer-streak.yaml"

START_OLD = """Hi {{first_name}},

Spend 500 before {{period_end_date}} and we'll add 500 bonus points
to your Northwind Rewards account.

See you in store,
The Northwind Rewards team
"""
START_NEW = START_OLD.replace("add 500 bonus", "add 1,000 bonus")
FINISH = """Hi {{first_name}},

You reached {{target_value}} in spend. Your bonus points are on their way.
"""


def want(typ: str, channel: int, message: str, *, line: int, **fields: Any) -> DesiredCommunication:
    source = Source(fields.pop("path", SPRING), line, 5)
    values: dict[str, Any] = {"sender": "NWREWARDS", "subjectTemplate": "", "offsetDays": 0}
    values |= {"active": True, **fields}
    return DesiredCommunication(typ, channel, messageTemplate=message, source=source, **values)


def live(
    id: int, typ: str, channel: int, message: str, *, by: str = "", on: str = "", **fields: Any
) -> Communication:
    attribution = None
    if by or on:
        who = {"name": by, "code": by.split()[0].lower(), "id": 7} if by else None
        attribution = {"lastUpdatedOn": on or None, "lastUpdatedBy": who}
    values: dict[str, Any] = {"sender": "NWREWARDS", "subjectTemplate": "", "offsetDays": 0}
    values |= {"active": True, **fields}
    return Communication.model_validate(
        {
            "id": id,
            "communicationType": typ,
            "channelId": channel,
            "messageTemplate": message,
            "attribution": attribution,
            **values,
        }
    )


def target(
    name: str, group: int, target_id: int, comms: Sequence[DesiredCommunication], **kw: Any
) -> DesiredTarget:
    return DesiredTarget(
        name=name,
        targetGroupId=group,
        targetId=target_id,
        prune=kw.pop("prune", True),
        communications=tuple(comms),
        source=Source(kw.pop("path", SPRING), kw.pop("line", 1), 1),
        **kw,
    )


def scenario() -> tuple[list[DesiredTarget], dict[tuple[int, int], LiveRead]]:
    sender = "loyalty@northwind.example"
    desired = [
        target(
            "spring-sprint-spend-500",
            2163,
            2317,
            [
                want(
                    "START", EMAIL, START_NEW, line=15, sender=sender, subjectTemplate="You're in"
                ),
                want(
                    "FINISH", EMAIL, FINISH, line=27, sender=sender, subjectTemplate="You did it!"
                ),
                want(
                    "REMINDER", SMS, "3 days left to reach {{target_value}}.", line=38, offsetDays=3
                ),
                want(
                    "CHANGE",
                    PUSH,
                    "You're at {{achieved_value}}.",
                    line=43,
                    subjectTemplate="Halfway",
                ),
            ],
            line=6,
            targetGroupName="Spring Sprint",
            targetName="Spend 500",
        ),
        target(
            "spring-sprint-store-visits",
            2163,
            2318,
            [
                want("START", SMS, "Visit 5 stores.", line=58),
                want("FINISH", SMS, "5 visits done!", line=62, active=False),
                want("REMINDER", SMS, "{{remaining_value}} visits to go.", line=66, active=False),
            ],
            line=49,
            targetGroupName="Spring Sprint",
            targetName="Five Store Visits",
        ),
        target(
            "spring-sprint-referrals",
            2163,
            2319,
            [want("START", EMAIL, "Share your code.", line=82, sender=sender)],
            line=73,
            targetGroupName="Spring Sprint",
            targetName="Refer Three Friends",
        ),
        target(
            "summer-streak-weekly-shopper",
            2170,
            2401,
            [
                want("START", PUSH, "Shop once a week.", line=14, path=SUMMER),
                want("REMINDER", SMS, "Keep the streak.", line=30, path=SUMMER, offsetDays=3),
            ],
            prune=False,
            path=SUMMER,
            line=5,
            targetGroupName="Summer Streak",
            targetName="Weekly Shopper",
        ),
        target(
            "summer-streak-saver",
            2170,
            2402,
            [want("START", SMS, "Save your streak.", line=44, path=SUMMER)],
            path=SUMMER,
            line=38,
            targetGroupName="Summer Streak",
            targetName="Streak Saver",
        ),
    ]
    jane, ui = "Jane Doe", "Campaign UI"
    lives: dict[tuple[int, int], LiveRead] = {
        (2163, 2317): [
            # START: the template and the sender changed -> update with a multi-line diff
            live(
                5001,
                "START",
                EMAIL,
                START_OLD,
                subjectTemplate="You're in",
                sender="news@northwind.example",
                by=jane,
                on="2026-02-11T10:02:44.120+0000",
            ),
            # FINISH: two active copies (a live duplicate); the newer one matches the manifest
            live(
                5002,
                "FINISH",
                EMAIL,
                FINISH,
                subjectTemplate="You did it!",
                sender=sender,
                by=ui,
                on="2026-02-20T16:40:00.000+0000",
            ),
            live(
                5006,
                "FINISH",
                EMAIL,
                FINISH,
                subjectTemplate="Well done",
                sender=sender,
                by=ui,
                on="2026-01-05T08:00:00.000+0000",
            ),
            # REMINDER moved from EMAIL to SMS: a create plus a deactivate, adjacent
            live(
                5003,
                "REMINDER",
                EMAIL,
                "3 days left to reach {{target_value}}.",
                offsetDays=3,
                by=jane,
                on="2025-12-01T09:00:00.000+0000",
            ),
            # CHANGE was switched off in the UI: a re-activation
            live(
                5004,
                "CHANGE",
                PUSH,
                "You're at {{achieved_value}}.",
                subjectTemplate="Halfway",
                active=False,
                by=ui,
                on="2026-02-27T12:15:30.500+0000",
            ),
        ],
        (2163, 2318): [
            live(6001, "START", SMS, "Visit 5 stores."),
            live(
                6002,
                "REMINDER",
                SMS,
                "{{remaining_value}} visits to go.",
                by=ui,
                on="2026-02-01T07:00:00.000+0000",
            ),
        ],
        (2163, 2319): [live(7001, "START", EMAIL, "Share your code.", sender=sender)],
        (2170, 2401): [
            live(
                8001,
                "REMINDER",
                SMS,
                "Keep the streak.",
                offsetDays=2,
                by=ui,
                on="2026-02-28T18:05:00.000+0000",
            ),
            # prune: false keeps undeclared communications, duplicates included (a warning)
            live(8002, "CHANGE", PUSH, "Week {{achieved_value}}!"),
            live(8003, "CHANGE", PUSH, "Week {{achieved_value}}!!"),
        ],
        (2170, 2402): ReadFailure(
            "GET /v3/targetGroups/2170/targets/2402/communications: 503 Service Unavailable "
            "(gave up after 5 attempts)"
        ),
    }
    return desired, lives


def build_plan() -> Plan:
    desired, lives = scenario()
    return make_plan(desired, lives, "sandbox", GENERATED_AT, channels=CHANNELS)


# --- markdown ---------------------------------------------------------------------------------


_FENCE = re.compile(r"^(`{3,})(.*)$")


def assert_well_formed(markdown: str) -> None:
    """Every fence is closed by a fence at least as long, and ``<details>``/``<summary>`` tags
    outside fences are balanced and properly nested."""
    open_fence: str | None = None
    depth = 0
    for line in markdown.split("\n"):
        if open_fence is not None:
            if re.fullmatch(r"`{3,}", line) and len(line) >= len(open_fence):
                open_fence = None
            continue
        match = _FENCE.match(line)
        if match:
            open_fence = match.group(1)
            continue
        for tag in re.findall(r"</?details>", line):
            depth += 1 if tag == "<details>" else -1
            assert depth >= 0, f"</details> without <details>: {line!r}"
        assert line.count("<summary>") == line.count("</summary>"), line
    assert open_fence is None, "a code fence is never closed"
    assert depth == 0, "a <details> block is never closed"


def labelled_plan() -> Plan:
    """A plan against a git base (issue 18): one target whose START email has a subject this
    change sets, a message a named user edited live (overwritten), a sender changed in both
    places (conflict) and an offset already live; plus one released target."""
    from reconciler.plan import BaseInfo, ReleasedTarget
    from reconciler.provenance import label_target

    live = Communication.model_validate(
        {
            "id": 7,
            "communicationType": "START",
            "channelId": EMAIL,
            "sender": "ui@x.example",
            "subjectTemplate": "Old",
            "messageTemplate": "Edited live",
            "offsetDays": 2,
            "active": True,
            "attribution": {
                "lastUpdatedBy": {"id": 1, "code": "jdoe", "name": "Jane Doe"},
                "lastUpdatedOn": "2026-03-01T10:00:00.000+0000",
            },
        }
    )

    def target(subject: str, sender: str, offset: int) -> DesiredTarget:
        entry = DesiredCommunication(
            "START", EMAIL, sender, subject, "Base text", offset, True, Source(SPRING, 9, 5)
        )
        return DesiredTarget("spring", 2163, 2317, True, (entry,), Source(SPRING, 3, 1))

    base, head = target("Old", "a@x.example", 0), target("New", "b@x.example", 2)
    planned = make_plan([head], {head.ref: [live]}, "prod", GENERATED_AT, channels=CHANNELS)
    labelled = label_target(planned.targets[0], head, base)
    released = ReleasedTarget(
        targetGroupId=2170, targetId=2402, name="brunch", manifest=SUMMER, activeLive=3
    )
    info = BaseInfo(ref="main", commit="a" * 40, changedSince=True, documents=5, changedDocuments=1)
    return planned.model_copy(
        update={"targets": (labelled,), "base": info, "released": (released,)}
    )
