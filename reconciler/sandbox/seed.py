"""The sandbox's data: the demo programme behind the shipped manifests, and synthetic programmes.

The demo's live communications differ from ``manifests/`` on purpose, so that the first plan
shows every kind of change (the table in ``DEMO_STORY``); tests pin it to the manifests.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from pathlib import Path

from reconciler.errors import ConfigError
from reconciler.sandbox.database import check_db_path
from reconciler.sandbox.models import ActorJSON
from reconciler.sandbox.store import DEFAULT_DB_PATH, Store, open_store
from reconciler.sandbox.tables import (
    SEED_ACTOR,
    UI_ACTOR,
    CommunicationSeed,
    GroupSeed,
    TargetSeed,
)

SMS, EMAIL, PUSH = 1, 2, 3
CHANNELS = {SMS: "SMS", EMAIL: "EMAIL", PUSH: "MOBILE PUSH"}
# What `${sender}` resolves to in the sandbox environment of reconciler.yaml.
SENDER = "loyalty@northwind.example"
PARTNER_ACTOR: ActorJSON = {
    "id": 50013391,
    "code": "partner.brunch",
    "description": "Brunch partner team (InTouch UI)",
    "name": "partner.brunch",
    "type": "ADMIN_USER",
}
# Byte for byte manifests/templates/weekly-shopper-finish.html (a test keeps them equal).
WEEKLY_SHOPPER_FINISH_HTML = """\
<html>
  <body>
    <h1>Double points, all autumn</h1>
    <p>Hi {{first_name}}, you shopped with us every week for 8 weeks.</p>
    <p>From now until 30 November every purchase earns double Northwind Rewards points.</p>
  </body>
</html>
"""

# target -> what the first `reconciler plan` shows for it (prune is on unless noted).
DEMO_STORY = {
    2317: "~ START/EMAIL subject and a multi-line message diff; + FINISH/EMAIL; = REMINDER/SMS; "
    "+ CHANGE/MOBILE PUSH and - CHANGE/EMAIL 5103 (the message moved channel)",
    2318: "= START/SMS; ~ FINISH/SMS re-activated; - REMINDER/SMS 5113 (manifest says inactive)",
    2319: "+ START/EMAIL; + FINISH/EMAIL (nothing live)",
    2401: "= START, CHANGE (MOBILE PUSH), FINISH/EMAIL (html file); ~ REMINDER/SMS offsetDays 2 → 1; "
    "- START/SMS 5125 (undeclared)",
    2402: "= START/EMAIL 5132, FINISH/EMAIL; prune off: CHANGE/SMS 5134 kept; warning: START/EMAIL "
    "has an older live duplicate 5131",
    2501: "never read or written: no manifest declares it",
}

_GROUPS = (
    GroupSeed(2163, "Spring Sprint 2026", "Three milestones from April to June", True,
              "2026-04-01", "2026-06-30", "2026-02-02T10:15:00.000+0000"),
    GroupSeed(2170, "Summer Streak", "Weekly habits over July and August", True,
              "2026-07-01", "2026-08-31", "2026-05-11T08:30:00.000+0000"),
    GroupSeed(2185, "Anniversary Club", "Membership anniversaries, run in the UI", True,
              "2026-01-01", "2026-12-31", "2026-01-05T09:00:00.000+0000"),
)  # fmt: skip
_TARGETS = (
    TargetSeed(2163, 2317, "Spend 500 in April", "Spend 500 in one month"),
    TargetSeed(2163, 2318, "Five Store Visits", "Visit five different stores"),
    TargetSeed(2163, 2319, "Refer Three Friends", "Three referred first purchases"),
    TargetSeed(2170, 2401, "Weekly Shopper", "A purchase every week for 8 weeks"),
    TargetSeed(2170, 2402, "Weekend Brunch Club", "Brunch on 4 weekends"),
    TargetSeed(2185, 2501, "Gold Anniversary", "Gold members' membership anniversary"),
)

_OLD_START_2317 = """\
Hi {{first_name}},

Spend 500 before {{period_end_date}} and we'll add 500 bonus points
to your Northwind account.

See you soon,
The Northwind Rewards team
"""


def _c(
    id: int,
    target: int,
    kind: str,
    channel: int,
    message: str,
    sender: str,
    subject: str = "",
    offset: int = 0,
    *,
    active: bool = True,
    created: str = "2026-03-02T11:20:31.408+0000",
    updated: str | None = None,
    by: ActorJSON = SEED_ACTOR,
    updated_by: ActorJSON | None = None,
) -> CommunicationSeed:
    """One demo communication, written compactly; its group is looked up from the target."""
    group = next(t.group_id for t in _TARGETS if t.id == target)
    return CommunicationSeed(
        group, target, kind, channel, message, sender, subject, offset, active, id,
        created, updated, by, updated_by,
    )  # fmt: skip


_COMMUNICATIONS = (
    # 2317: START edited long ago (older copy), REMINDER identical, CHANGE still on EMAIL.
    _c(5101, 2317, "START", EMAIL, _OLD_START_2317, SENDER, "Welcome to {{target_name}}",
       created="2026-02-10T09:14:03.120+0000", updated="2026-03-18T16:42:51.877+0000",
       updated_by=UI_ACTOR),
    _c(5102, 2317, "REMINDER", SMS,
       "{{first_name}}, 3 days left to reach {{target_value}} and earn 1,000 bonus points.",
       "NWREWARDS", offset=3),
    _c(5103, 2317, "CHANGE", EMAIL, "You're at {{achieved_value}} of {{target_value}}. Keep going!",
       SENDER, "Halfway there"),
    # 2318: START identical, FINISH paused in the UI, REMINDER active though the manifest pauses it.
    _c(5111, 2318, "START", SMS,
       "Visit 5 Northwind stores by {{period_end_date}} to unlock free delivery for a year.",
       "NWREWARDS"),
    _c(5112, 2318, "FINISH", SMS, "5 visits done! Free delivery is now active on your account.",
       "NWREWARDS", active=False, updated="2026-04-21T07:55:12.034+0000", updated_by=UI_ACTOR),
    _c(5113, 2318, "REMINDER", SMS,
       "{{first_name}}, {{remaining_value}} visits to go before {{period_end_date}}.",
       "NWREWARDS", offset=5),
    # 2401: all as declared but REMINDER's offset, plus an undeclared START on SMS.
    _c(5121, 2401, "START", PUSH, "Shop once a week for 8 weeks and earn double points all autumn.",
       "NWREWARDS", "Your summer streak starts now", created="2026-06-01T08:00:00.000+0000"),
    _c(5122, 2401, "CHANGE", PUSH, "{{achieved_value}} weeks in a row. Don't break the chain!",
       "NWREWARDS", "Streak: {{achieved_value}} weeks", created="2026-06-01T08:00:00.000+0000"),
    _c(5123, 2401, "FINISH", EMAIL, WEEKLY_SHOPPER_FINISH_HTML, SENDER,
       "8 weeks, {{first_name}}. Double points unlocked.", created="2026-06-01T08:00:00.000+0000"),
    _c(5124, 2401, "REMINDER", SMS,
       "Last day of week {{current_period}}: shop today to keep your streak.", "NWREWARDS",
       offset=2, created="2026-06-01T08:00:00.000+0000"),
    _c(5125, 2401, "START", SMS,
       "Your summer streak starts now: shop once a week for 8 weeks.", "NWREWARDS",
       created="2026-06-03T13:07:44.211+0000", by=UI_ACTOR),
    # 2402 (prune: false): an older duplicate START and a hand-made CHANGE by the partner team.
    _c(5131, 2402, "START", EMAIL, "Buy brunch on 4 weekends and the 5th is on us.",
       "brunch@northwind.example", "Brunch is on us this summer",
       created="2026-05-20T10:02:17.550+0000", by=PARTNER_ACTOR),
    _c(5132, 2402, "START", EMAIL, "Buy brunch on 4 weekends this summer and the 5th is on us.",
       "brunch@northwind.example", "Weekend brunch, on us",
       created="2026-06-02T09:41:05.902+0000"),
    _c(5133, 2402, "FINISH", EMAIL, "Show this email in any Northwind cafe: {{reward_code}}.",
       "brunch@northwind.example", "Your free brunch is ready",
       created="2026-06-02T09:41:05.902+0000"),
    _c(5134, 2402, "CHANGE", SMS, "{{achieved_value}} of 4 brunches done. The next one is close!",
       "NWBRUNCH", created="2026-06-15T15:30:00.000+0000", by=PARTNER_ACTOR),
    # 2501: managed in the UI only; no manifest declares it, so no plan may touch it.
    _c(5141, 2501, "START", EMAIL,
       "Thank you for {{years}} years with Northwind Rewards. Your gift: {{reward_code}}.",
       "club@northwind.example", "Happy anniversary, {{first_name}}",
       created="2026-01-12T12:00:00.000+0000", by=UI_ACTOR),
    _c(5142, 2501, "REMINDER", SMS, "{{first_name}}, your anniversary gift expires in 7 days.",
       "NWREWARDS", offset=7, created="2026-01-12T12:00:00.000+0000", by=UI_ACTOR),
)  # fmt: skip


def reset(db_path: Path | str = DEFAULT_DB_PATH) -> Store:
    """Recreate the sandbox database with the demo programme (a running server sees the change)."""
    store = _recreated(Path(db_path))
    load_demo(store)
    return store


def ensure_seeded(db_path: Path | str = DEFAULT_DB_PATH) -> Store:
    """Open the database, seeding the demo programme first if the file does not exist yet."""
    path = Path(db_path)
    return open_store(path) if path.exists() else reset(path)


def load_demo(store: Store) -> None:
    """Add the demo programme to an empty store."""
    for channel_id, name in CHANNELS.items():
        store.add_channel(channel_id, name)
    store.add_groups(_GROUPS)
    store.add_targets(_TARGETS)
    store.add_communications(_COMMUNICATIONS)


# -- synthetic programmes for tests and benchmarks --------------------------------------------

SYNTHETIC_KEYS = tuple(
    itertools.product(("START", "FINISH", "REMINDER", "CHANGE"), (EMAIL, SMS, PUSH))
)


@dataclass(frozen=True)
class SyntheticProgramme:
    """Ids of what ``seed_synthetic`` created: ``targets[group_id]`` lists that group's targets."""

    targets: dict[int, list[int]] = field(default_factory=dict)

    @property
    def groups(self) -> list[int]:
        return list(self.targets)

    @property
    def target_count(self) -> int:
        return sum(len(ids) for ids in self.targets.values())


def synthetic_communication(
    group_id: int, target_id: int, communication_type: str, channel_id: int
) -> CommunicationSeed:
    """The live communication ``seed_synthetic`` writes for one key (manifests can match it)."""
    email = channel_id == EMAIL
    return CommunicationSeed(
        group_id,
        target_id,
        communication_type,
        channel_id,
        message_template=(
            f"Hi {{{{first_name}}}}, {communication_type.lower()} news about target {target_id}."
        ),
        sender=SENDER if email else "NWREWARDS",
        subject_template=f"{communication_type.title()} for target {target_id}" if email else "",
        offset_days=3 if communication_type == "REMINDER" else 0,
    )


def seed_synthetic(
    db_path: Path | str,
    groups: int,
    targets_per_group: int,
    comms_per_target: int = 4,
    *,
    first_group_id: int = 10_001,
    first_target_id: int = 1_000_001,
    keep_existing: bool = False,
) -> SyntheticProgramme:
    """Fill the database with ``groups`` x ``targets_per_group`` targets, each with
    ``comms_per_target`` distinct live communications (keys from ``SYNTHETIC_KEYS``).

    Unless ``keep_existing``, the database is recreated first (channels as in the demo).
    10,000 targets take about a second: everything goes in with ``executemany``.
    """
    if not 0 <= comms_per_target <= len(SYNTHETIC_KEYS):
        raise ValueError(f"comms_per_target must be between 0 and {len(SYNTHETIC_KEYS)}")
    path = Path(db_path)
    store = open_store(path) if keep_existing else _recreated(path)
    if not keep_existing:
        for channel_id, name in CHANNELS.items():
            store.add_channel(channel_id, name)
    programme = SyntheticProgramme()
    group_seeds: list[GroupSeed] = []
    target_seeds: list[TargetSeed] = []
    comm_seeds: list[CommunicationSeed] = []
    target_ids = itertools.count(first_target_id)
    for n in range(groups):
        group_id = first_group_id + n
        group_seeds.append(GroupSeed(group_id, f"Synthetic Group {group_id}"))
        ids = [next(target_ids) for _ in range(targets_per_group)]
        programme.targets[group_id] = ids
        for target_id in ids:
            target_seeds.append(TargetSeed(group_id, target_id, f"Synthetic Target {target_id}"))
            comm_seeds.extend(
                synthetic_communication(group_id, target_id, kind, channel)
                for kind, channel in SYNTHETIC_KEYS[:comms_per_target]
            )
    store.add_groups(group_seeds)
    store.add_targets(target_seeds)
    store.add_communications(comm_seeds)
    return programme


def _recreated(path: Path) -> Store:
    if path.is_dir():
        check_db_path(path)
    try:
        store = open_store(path)
    except ConfigError:  # not a sandbox database at all: start from nothing
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        store = open_store(path)
    store.recreate()
    return store
