"""Issue 10 case 8: random histories of manifest edits, edits in the UI and faults, each followed
by an apply; after every apply that succeeds the live state is exactly what the manifests say.

After every apply, successful or not, no key has gained a second active communication (SPEC §6:
no retry ever creates a duplicate). After each successful apply (SPEC §4, §6):
- every declared active communication is live once, with the declared fields; nothing else
  of a managed target is active (``prune: true``), so keys are unique per target;
- the target no manifest declares is byte-for-byte what it was at the start.
An apply without faults always succeeds. The library is driven directly (planning, applier and
the client over the sandbox app in process) so that a history costs milliseconds, not seconds.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections import Counter
from pathlib import Path

import httpx
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from reconciler.api import BasicCredentials, CapillaryClient, ClientSettings
from reconciler.applier.execute import Applier
from reconciler.config import EnvironmentConfig, Settings
from reconciler.errors import ApiError
from reconciler.live import Selection, make_run_plan
from reconciler.sandbox import IN_PROCESS_URL, FaultConfig, create_app, open_store
from reconciler.sandbox.seed import EMAIL, PUSH, SMS, seed_synthetic
from tests.support.cli import PASSWORD, USERNAME
from tests.support.manifests import communication, manifest

GROUP = 10_001
MANAGED = [1_000_001, 1_000_002, 1_000_003]
UNMANAGED = 1_000_004
KEYS = [
    (kind, channel) for kind in ("START", "FINISH", "REMINDER") for channel in (EMAIL, SMS, PUSH)
]
FAULTS = {
    "none": FaultConfig(),
    "failures": FaultConfig(fail_rate=0.6, fail_kind="500", seed=1),
    "outage": FaultConfig(fail_rate=1.0, fail_kind="503"),
    "cdn-pages": FaultConfig(html_rate=0.15, truncate_rate=0.15, seed=2),
    "ambiguous-500": FaultConfig(ambiguous_rate=1.0, ambiguous_kind="500", seed=3),
    "ambiguous-drop": FaultConfig(ambiguous_rate=0.5, ambiguous_kind="drop", seed=4),
}
Entry = dict[str, object]


class ApplyHistory(RuleBasedStateMachine):
    """One sandbox database, three managed targets and one that no manifest declares."""

    def __init__(self) -> None:
        super().__init__()
        self.directory = Path(tempfile.mkdtemp(prefix="apply-history-"))
        self.db = self.directory / "sandbox.db"
        seed_synthetic(self.db, groups=1, targets_per_group=4, comms_per_target=3)
        self.store = open_store(self.db)
        self.untouched = self.store.communications(GROUP, UNMANAGED)
        # Start from what is live ...
        self.desired: dict[int, dict[tuple[str, int], Entry]] = {
            target: {
                (c["communicationType"], c["channelId"]): communication(
                    c["communicationType"],
                    c["channelId"],
                    c["messageTemplate"],
                    sender=c["sender"],
                    subject=c["subjectTemplate"],
                    offset=c["offsetDays"],
                )
                for c in self.store.communications(GROUP, target)
            }
            for target in MANAGED
        }
        for target in MANAGED:  # and one message still to create, for the first apply
            self.desired[target][("REMINDER", SMS)] = communication(
                "REMINDER", SMS, f"3 days left for {target}", sender="NWREWARDS", offset=3
            )

    def teardown(self) -> None:
        self.store.close()
        shutil.rmtree(self.directory, ignore_errors=True)

    # --- manifest edits ----------------------------------------------------------------

    @rule(
        which=st.sampled_from(MANAGED),
        key=st.sampled_from(KEYS),
        text=st.text(min_size=1, max_size=20),
    )
    def declare_or_edit_a_message(self, which: int, key: tuple[str, int], text: str) -> None:
        entry = self.desired[which].get(key) or communication(*key, "new", sender="NWREWARDS")
        self.desired[which][key] = {**entry, "messageTemplate": text, "active": True}

    @rule(which=st.sampled_from(MANAGED), index=st.integers(0, 8), offset=st.integers(0, 30))
    def change_an_offset(self, which: int, index: int, offset: int) -> None:
        keys = sorted(self.desired[which])
        if keys:
            key = keys[index % len(keys)]
            self.desired[which][key] = {**self.desired[which][key], "offsetDays": offset}

    @rule(which=st.sampled_from(MANAGED), index=st.integers(0, 8))
    def declare_one_inactive(self, which: int, index: int) -> None:
        keys = sorted(self.desired[which])
        if keys:
            key = keys[index % len(keys)]
            self.desired[which][key] = {**self.desired[which][key], "active": False}

    @rule(which=st.sampled_from(MANAGED), index=st.integers(0, 8))
    def remove_one_from_the_manifest(self, which: int, index: int) -> None:
        keys = sorted(self.desired[which])
        if keys:
            del self.desired[which][keys[index % len(keys)]]

    # --- edits in the UI (out of band) ------------------------------------------------

    @rule(which=st.sampled_from(MANAGED), index=st.integers(0, 20), text=st.text(max_size=10))
    def edit_in_the_ui(self, which: int, index: int, text: str) -> None:
        live = self.store.communications(GROUP, which)
        if live:
            chosen = live[index % len(live)]
            self.store.edit_communication(chosen["id"], message_template=f"UI {text}", active=True)

    @rule(which=st.sampled_from(MANAGED), key=st.sampled_from(KEYS))
    def insert_a_duplicate_in_the_ui(self, which: int, key: tuple[str, int]) -> None:
        self.store.put_communication(
            GROUP, which, communication_type=key[0], channel_id=key[1],
            message_template="made in the UI", sender="NWREWARDS",
        )  # fmt: skip

    @rule(which=st.sampled_from(MANAGED), index=st.integers(0, 20))
    def deactivate_in_the_ui(self, which: int, index: int) -> None:
        live = [c for c in self.store.communications(GROUP, which) if c["active"]]
        if live:
            self.store.edit_communication(live[index % len(live)]["id"], active=False)

    # --- faults and applies -------------------------------------------------------------

    @rule(kind=st.sampled_from(sorted(FAULTS)))
    def apply(self, kind: str) -> None:
        before = {t: self.active_keys(t) for t in MANAGED}
        ok = asyncio.run(self._apply(FAULTS[kind]))
        # Successful or not, an apply never adds a second active communication to a key.
        for target in MANAGED:
            for key, n in self.active_keys(target).items():
                assert n <= max(1, before[target][key]), (kind, target, key, n)
        if ok:
            self.check_live_matches_the_manifests()
        else:
            assert kind != "none", "an apply without faults must succeed"

    def active_keys(self, target: int) -> Counter[tuple[str, int]]:
        live = self.store.communications(GROUP, target)
        return Counter((c["communicationType"], c["channelId"]) for c in live if c["active"])

    # --- invariants ---------------------------------------------------------------------

    @invariant()
    def unmanaged_target_is_untouched(self) -> None:
        assert self.store.communications(GROUP, UNMANAGED) == self.untouched

    def check_live_matches_the_manifests(self) -> None:
        """Right after a successful apply: declared fields live, once; nothing else active."""
        for target in MANAGED:
            live = [c for c in self.store.communications(GROUP, target) if c["active"]]
            keys = Counter((c["communicationType"], c["channelId"]) for c in live)
            assert all(n == 1 for n in keys.values()), (target, keys)
            wanted = {k: e for k, e in self.desired[target].items() if e["active"]}
            assert set(keys) == set(wanted), (target, sorted(keys), sorted(wanted))
            for c in live:
                entry = wanted[(c["communicationType"], c["channelId"])]
                assert {name: c[name] for name in entry} == entry, (target, c["id"])  # type: ignore[literal-required]

    def _write_manifests(self) -> Path:
        directory = self.directory / "manifests"
        directory.mkdir(exist_ok=True)
        for target in MANAGED:
            entries = list(self.desired[target].values())
            (directory / f"{target}.yaml").write_text(
                manifest(f"t{target}", GROUP, target, entries)
            )
        return directory

    async def _apply(self, faults: FaultConfig) -> bool:
        directory = self._write_manifests()
        config = Settings(
            environment="test",
            env=EnvironmentConfig(endpoint="sandbox"),
            root=self.directory,
            manifests=(str(directory),),
        )
        app = create_app(self.db, faults)
        client_settings = ClientSettings(
            base_url=IN_PROCESS_URL,
            credentials=BasicCredentials(USERNAME, PASSWORD),
            backoff_base=0.0,
            backoff_cap=0.0,
        )
        try:
            async with CapillaryClient(
                client_settings, transport=httpx.ASGITransport(app=app)
            ) as client:
                planned = await make_run_plan(config, Selection(), client, parallelism=4)
                if planned.unreadable:
                    return False
                result = await Applier(client, parallelism=4, settle_seconds=0.0).apply(planned)
                return result.ok
        except ApiError:  # the names could not be resolved: nothing was planned or written
            return False
        finally:
            app.state.sandbox.store.close()


ApplyHistory.TestCase.settings = settings(
    max_examples=15,
    stateful_step_count=20,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestRandomHistoriesOfEditsAndFaultsConvergeToTheManifests = ApplyHistory.TestCase
