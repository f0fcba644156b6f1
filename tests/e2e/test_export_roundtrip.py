"""Export's zero-diff guarantee on generated live states (issue 7, acceptance 1)."""

from __future__ import annotations

import asyncio
import itertools
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler.api import BasicCredentials, CapillaryClient, ClientSettings
from reconciler.config import EnvironmentConfig, LintConfig, Settings
from reconciler.export import build_export, write_files
from reconciler.lint.rules import RULES
from reconciler.live import Selection, make_run_plan
from reconciler.sandbox.seed import reset
from reconciler.sandbox.server import IN_PROCESS_URL, in_process_transport

# Text that is hard to keep exact in YAML: unicode, quotes, ${, leading spaces, long lines,
# trailing newlines, YAML-significant words. Control characters are excluded: YAML cannot
# carry most of them, and the sandbox, like Capillary's UI, is not asked to store them.
_alphabet = st.characters(
    codec="utf-8",
    exclude_categories=("Cc", "Cs", "Co", "Cn", "Zl", "Zp"),
    exclude_characters="\ufeff",
)
_tricky = st.sampled_from(
    [
        "${x}",
        "$${y}",
        " leading",
        "trailing ",
        "NO",
        "on",
        "0123",
        "1e5",
        "'q'",
        '"d"',
        "#c",
        ": ",
        "- ",
        "\n",
        "\n\n",
        "{{first_name}}",
        "x" * 120,
    ]
)
template = st.lists(st.one_of(st.text(_alphabet, max_size=12), _tricky), max_size=6).map("".join)
communication = st.fixed_dictionaries(
    {
        "message_template": template.filter(bool),
        "subject_template": st.one_of(st.just(""), template),
        "sender": st.one_of(
            st.sampled_from(["NWREWARDS", "a@b.example", "0123", "yes"]),
            template.map(lambda t: t[:200]).filter(bool),  # the API caps senders at 255
        ),
        "offset_days": st.integers(0, 30),
    }
)
KEYS = list(itertools.product(("START", "FINISH", "CHANGE", "REMINDER"), (1, 2, 3)))
_ids = itertools.count(90_001)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.dictionaries(st.sampled_from(KEYS), communication, min_size=1, max_size=4), st.booleans())
def test_export_of_any_live_state_plans_to_no_changes(
    tmp_path: Path, live: dict[tuple[str, int], dict[str, object]], by_name: bool
) -> None:
    db = tmp_path / "sandbox.db"
    if not db.exists():
        reset(db)
    from reconciler.sandbox.store import open_store

    store = open_store(db)
    group, target = next(_ids), next(_ids)
    store.add_group(group, f"Group {group}")
    store.add_target(group, target, f"Target {target}")
    for (kind, channel), fields in live.items():
        store.put_communication(
            group, target, communication_type=kind, channel_id=channel, **fields
        )  # type: ignore[arg-type]
    out = tmp_path / f"export-{group}"
    settings_ = Settings(
        environment="test",
        # Arbitrary text is no good message (lint would refuse the plan): exactness only here.
        env=EnvironmentConfig(
            endpoint="sandbox", lint=LintConfig(rules=dict.fromkeys(RULES, "off"))
        ),
        root=tmp_path,
        manifests=(str(out),),
        sandbox_db=db,
    )

    async def run() -> object:
        client = CapillaryClient(
            ClientSettings(
                base_url=IN_PROCESS_URL, credentials=BasicCredentials("demo", "demo-password")
            ),
            transport=in_process_transport(db),
        )
        async with client:
            files, _, errors = await build_export(
                client,
                groups=[group],
                all_groups=False,
                out_dir=out,
                by_name=by_name,
                include_inactive=False,
                root=tmp_path,
            )
            assert not errors
            write_files(files, force=False)
            return await make_run_plan(settings_, Selection(), client, parallelism=4)

    plan = asyncio.run(run())
    assert not plan.has_changes, plan.to_json()  # type: ignore[attr-defined]
    assert plan.summary.noop == len(live)  # type: ignore[attr-defined]
