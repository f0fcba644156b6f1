"""The scratch target a probe may use: resolved by id or name, refused when a manifest declares
it or when it has active communications (unless allowed), and the communication types and
channels the probe will write. Only reads.
"""

from __future__ import annotations

from dataclasses import dataclass

from reconciler.api.endpoints import CapillaryClient
from reconciler.config import Settings
from reconciler.desired import DesiredTarget
from reconciler.errors import ValidationFailed
from reconciler.manifests import ManifestLoader
from reconciler.probe.evidence import Row, errors_of, rows_of
from reconciler.probe.failures import ProbeError, ProbeRefused
from reconciler.probe.journal import Journal
from reconciler.probe.questions import ProbeRequest
from reconciler.resolve import Index, Named, Resolver, find

# The types the probe may write, in the order it takes them.
TYPES = ("START", "FINISH", "CHANGE", "REMINDER")


@dataclass(frozen=True)
class Scratch:
    """The target the probe writes to, what it had before, and what the probe will use."""

    group: Named
    target: Named
    channels: list[Named]
    first: Named  # the channel of every row the probe writes
    second: Named | None  # another channel, for question (k); None when the org has one
    types: tuple[str, str]  # two types the probe writes (the target has no row of either)
    baseline: list[Row]  # the target's rows before the probe, its own earlier rows excluded

    @property
    def active_baseline(self) -> list[Row]:
        return [row for row in self.baseline if row.active is not False]


def communications_path(group_id: int, target_id: int) -> str:
    return f"/v3/targetGroups/{group_id}/targets/{target_id}/communications"


def sender_for(channel: Named) -> str:
    """A sender the channel's kind of message would take (a real org may validate it)."""
    name = channel.name.upper()
    if "MAIL" in name:
        return "probe@reconciler.invalid"
    return "RPROBE"


async def declared_targets(
    settings: Settings, client: CapillaryClient
) -> dict[tuple[int, int], DesiredTarget]:
    """Every target a manifest declares, resolved as plan resolves them (no manifest files at
    all: none). A manifest with problems fails the probe: it cannot say what is declared."""
    loader = ManifestLoader(
        list(settings.manifests), variables=settings.env.vars, root=settings.root
    )
    if not loader.files:
        return {}
    files = list(loader)
    problems = loader.finish()
    if problems:
        raise ValidationFailed(problems)
    resolver = Resolver(client)
    declared: dict[tuple[int, int], DesiredTarget] = {}
    try:
        resolver.start()
        for documents in files:
            for wanted in await resolver.resolve(documents):
                declared.setdefault(wanted.ref, wanted)
        resolver.check()
    finally:
        await resolver.close()
    return declared


async def find_scratch(
    settings: Settings,
    client: CapillaryClient,
    request: ProbeRequest,
    journal: Journal | None,
) -> Scratch:
    """The scratch target of ``request``, or ``ProbeRefused`` saying why the probe will not
    run there. Rows an earlier probe (``journal``) left on it do not count: they are cleaned
    up before this probe starts."""
    groups = Index(Named(g.id, g.name) for g in await client.list_target_groups())
    group = _found(find(request.target_group, groups, "target group"))
    targets = Index(Named(t.id, t.name) for t in await client.list_targets(group.id))
    target = _found(
        find(request.target, targets, "target", f"target group {group.id} ({group.name})")
    )
    where = f"target {target.id} ({target.name}) of target group {group.id} ({group.name})"
    declared = await declared_targets(settings, client)
    if (group.id, target.id) in declared:
        wanted = declared[(group.id, target.id)]
        raise ProbeRefused(
            f"{where} is declared by {wanted.source.render()} ({wanted.name}); the probe "
            "writes test rows, so name a scratch target that no manifest declares"
        )
    channels = sorted(
        (Named(c.id, c.name) for c in await client.list_channels()), key=lambda c: c.id
    )
    if not channels:
        raise ProbeError("the API lists no channels; the probe needs at least one")
    first = channels[0]
    if request.channel is not None:
        first = _found(find(request.channel, Index(channels), "channel"))
    second = next((c for c in channels if c.id != first.id), None)
    baseline = await _baseline(client, group.id, target.id, journal)
    active = [row for row in baseline if row.active is not False]
    if active and not request.allow_active:
        ids = ", ".join(str(row.id) for row in active)
        raise ProbeRefused(
            f"{where} has {len(active)} active communication(s) (ids {ids}); name a scratch "
            "target with none, or pass --allow-active to use only communication types it "
            "has no row of"
        )
    types = _types(baseline, allow_active=request.allow_active)
    if types is None:
        raise ProbeRefused(
            f"{where} has rows of {len({r.type for r in baseline})} communication types; the "
            "probe needs two types the target has no row of"
        )
    return Scratch(group, target, channels, first, second, types, baseline)


def _found(result: tuple[Named | None, str | None]) -> Named:
    found, reason = result
    if found is None:
        raise ProbeRefused(str(reason))
    return found


async def _baseline(
    client: CapillaryClient, group_id: int, target_id: int, journal: Journal | None
) -> list[Row]:
    exchange = await client.exchange("GET", communications_path(group_id, target_id))
    if exchange.status != 200:
        detail = errors_of(exchange.response_body) or "no error message"
        raise ProbeError(
            f"reading target {target_id}'s communications answered HTTP {exchange.status}: {detail}"
        )
    rows = rows_of(exchange.response_body)
    if journal is not None and (journal.targetGroupId, journal.targetId) == (group_id, target_id):
        rows = [
            r
            for r in rows
            if r.id not in journal.created and not r.message.startswith(journal.marker)
        ]
    return rows


def _types(baseline: list[Row], *, allow_active: bool) -> tuple[str, str] | None:
    """Two types the target has no row of; without ``allow_active`` (so no active row at all)
    types that have only inactive rows will do when there are not two free ones."""
    used = {row.type for row in baseline}
    free = [t for t in TYPES if t not in used]
    if not allow_active:
        free += [t for t in TYPES if t in used]
    return (free[0], free[1]) if len(free) >= 2 else None
