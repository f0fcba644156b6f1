"""The client against the floor, in one run (issue 21).

Each comparison alternates A B A B (five pairs by default) on one server, so that a drift of
this shared machine's speed hits both sides alike, and reports the median of the pairs'
ratios, of CPU (user + system of the process) and of wall time (the process, start to exit):

- ``plan``: ``reconciler plan`` against ``bare_reads.py`` (a bare httpx loop, P requests in
  flight, reading the same targets) on the sandbox over HTTP and on ``plain_server.py`` (a
  minimal independent server at ``http://127.0.0.1``); T=1000, L=50 ms, P=16.
- ``apply``: ``reconciler apply`` with 10% changed against the bare loop doing the same
  reads and writes (the bare loop writes the old values back, so each pair starts alike).
- Both against the physical bound max(ceil(T/P)·L, T/R).
- ``memory``: a plan of 10,000 targets (L=0), peak memory, and CPU per target against the
  previous commit (``--base``, default 59b3ed8, exported with ``git archive`` and run from
  the same interpreter), alternating.
- ``shards``: four ``plan --shard K/4`` started together, one key, server limit 120/min,
  ``rateLimit: 120``: 429 share and wall time against T/R.
- ``unknown``: one plan against a server limit of 600/min the client is not told about.

Exit 0 unless a run fails; with ``--check``, exit 2 when a target of the acceptance list is
missed. Usage: python benchmarks/floor.py [--quick] [--check] [--only NAME ...] [--pairs 5]
[--markdown FILE]
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from run import BARE, REPO, Run, bound, child_env, measure, reconciler, sandbox
from workload import ENVIRONMENT, Workload, make_workload, write_config

from reconciler.sandbox.seed import SYNTHETIC_KEYS, synthetic_communication
from reconciler.selection import shard_of

PLAIN = str(Path(__file__).resolve().parent / "plain_server.py")
LATENCY_MS = 50
PARALLELISM = 16


@dataclass
class Check:
    item: str
    measured: str
    target: str
    ok: bool


@dataclass
class Report:
    rows: list[str] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)

    def check(self, item: str, measured: str, target: str, ok: bool) -> None:
        self.checks.append(Check(item, measured, target, ok))
        print(f"  [{'ok' if ok else 'MISSED'}] {item}: {measured} (target {target})", flush=True)

    def row(self, text: str) -> None:
        self.rows.append(text)
        print(f"  {text}", flush=True)


def expect(run: Run, what: str) -> None:
    if run.exit_code != 0:
        raise SystemExit(f"{what} failed with exit {run.exit_code}:\n{run.output[-3000:]}")


# -- servers ---------------------------------------------------------------------------------


def export_data(workload: Workload) -> Path:
    """The workload's API data as ``plain_server.py`` serves it, read from the sandbox app."""
    from reconciler.sandbox.auth import DEMO_PASSWORD, DEMO_USERNAME, basic_header
    from reconciler.sandbox.server import IN_PROCESS_URL, in_process_transport

    headers = {"Authorization": basic_header(DEMO_USERNAME, DEMO_PASSWORD)}
    data: dict[str, Any] = {"targets": {}, "communications": {}}

    async def go() -> None:
        transport = in_process_transport(workload.db)
        async with httpx.AsyncClient(
            base_url=IN_PROCESS_URL, transport=transport, headers=headers
        ) as client:

            async def get(path: str) -> Any:
                response = await client.get(path)
                response.raise_for_status()
                return response.json()["data"]

            data["groups"] = await get("/v3/targetGroups")
            data["channels"] = await get("/v3/targetGroups/channels")
            for group in data["groups"]:
                targets = await get(f"/v3/targetGroups/{group['id']}/targets")
                data["targets"][str(group["id"])] = targets
                for target in targets:
                    key = f"{group['id']}/{target['id']}"
                    data["communications"][key] = await get(
                        f"/v3/targetGroups/{key.replace('/', '/targets/')}/communications"
                    )

    import asyncio

    asyncio.run(go())
    path = workload.root / "plain-data.json"
    path.write_text(json.dumps(data))
    return path


@contextlib.contextmanager
def plain_server(workload: Workload, latency_ms: int) -> Iterator[str]:
    data = export_data(workload)
    command = [sys.executable, PLAIN, str(data), "--latency-ms", str(latency_ms)]
    server = subprocess.Popen(command, stdout=subprocess.PIPE, env=child_env())
    try:
        assert server.stdout is not None
        url = server.stdout.readline().decode().strip()
        if not url.startswith("http://127.0.0.1:"):
            raise RuntimeError(f"plain server did not start: {url!r}")
        yield url
    finally:
        server.terminate()
        server.wait(timeout=15)


def use_url(workload: Workload, url: str | None) -> None:
    """Point the workload's environment at ``url`` (None: back to the running sandbox)."""
    write_config(workload.root, parallelism=PARALLELISM)
    if url is None:
        return
    config = workload.root / "reconciler.yaml"
    text = config.read_text().replace("endpoint: sandbox", f"endpoint: {url}")
    # A URL endpoint defaults to Capillary's 100/min; this server has no limit.
    config.write_text(text + "    rateLimit: 1000000000\n")


@contextlib.contextmanager
def server_for(workload: Workload, kind: str) -> Iterator[str | None]:
    if kind == "sandbox":
        use_url(workload, None)
        with sandbox(workload, LATENCY_MS):
            yield None
    else:
        with plain_server(workload, LATENCY_MS) as url:
            use_url(workload, url)
            yield url


# -- A/B comparisons -------------------------------------------------------------------------


@dataclass
class Pairs:
    ours: list[Run] = field(default_factory=list)
    theirs: list[Run] = field(default_factory=list)

    def ratio(self, of: Callable[[Run], float]) -> float:
        return statistics.median(of(a) / of(b) for a, b in zip(self.ours, self.theirs, strict=True))

    def median(self, side: list[Run], of: Callable[[Run], float]) -> float:
        return statistics.median(of(r) for r in side)


def alternate(pairs: int, a: Callable[[], Run], b: Callable[[], Run]) -> Pairs:
    result = Pairs()
    for _ in range(pairs):
        result.ours.append(a())
        result.theirs.append(b())
    return result


def _refs(workload: Workload) -> Path:
    """The workload's targets for the bare loop, so that it parses no YAML: httpx alone."""
    pattern = re.compile(r"targetGroup: (\d+)\n  target: (\d+)\n")
    refs = [
        [int(group), int(target)]
        for path in sorted(workload.manifests.glob("*.yaml"))
        for group, target in pattern.findall(path.read_text())
    ]
    path = workload.root / "refs.json"
    path.write_text(json.dumps(refs))
    return path


def _bare(workload: Workload, url: str | None, writes: Path | None = None) -> list[str]:
    command = [sys.executable, BARE, str(workload.root), "--parallelism", str(PARALLELISM)]
    command += ["--refs", str(_refs(workload))]
    if url:
        command += ["--url", url]
    if writes:
        command += ["--writes", str(writes)]
    return command


def _summary(name: str, pairs: Pairs, lower: float) -> str:
    wall_a = pairs.median(pairs.ours, lambda r: r.wall)
    wall_b = pairs.median(pairs.theirs, lambda r: r.wall)
    cpu_a = pairs.median(pairs.ours, lambda r: r.cpu)
    cpu_b = pairs.median(pairs.theirs, lambda r: r.cpu)
    return (
        f"| {name} | {len(pairs.ours)} | {cpu_a:.2f} / {cpu_b:.2f} | "
        f"{pairs.ratio(lambda r: r.cpu):.3f} | {wall_a:.2f} / {wall_b:.2f} | "
        f"{pairs.ratio(lambda r: r.wall):.3f} | {lower:.2f} | {wall_a / lower:.2f} / "
        f"{wall_b / lower:.2f} |"
    )


def plan_pairs(report: Report, work: Path, targets: int, pairs: int) -> None:
    workload = make_workload(work / "ab-plan", targets, parallelism=PARALLELISM)
    lower = bound(targets, PARALLELISM, LATENCY_MS / 1000, None)
    for kind in ("sandbox", "plain"):
        print(f"== plan vs bare httpx loop, {kind} server, T={targets}", flush=True)
        with server_for(workload, kind) as url:
            result = alternate(
                pairs,
                lambda: measure(reconciler("plan"), workload.root),
                lambda url=url: measure(_bare(workload, url), REPO),
            )
        for run in (*result.ours, *result.theirs):
            expect(run, "plan pair")
        report.row(_summary(f"plan T={targets}, {kind}", result, lower))
        cpu, wall = result.ratio(lambda r: r.cpu), result.ratio(lambda r: r.wall)
        report.check(f"1 plan CPU ratio ({kind})", f"{cpu:.3f}", "≤ 1.15", cpu <= 1.15)
        report.check(f"1 plan wall ratio ({kind})", f"{wall:.3f}", "≤ 1.10", wall <= 1.10)


def _revert_writes(workload: Workload, root: Path) -> Path:
    """The bare loop's writes: each changed target's START email back to its seeded text."""
    changes = []
    pattern = re.compile(r"targetGroup: (\d+)\n  target: (\d+)\n")
    for path in sorted(workload.manifests.glob("*.yaml")):
        for document in path.read_text().split("---\n"):
            if "Now with double points." not in document:
                continue
            found = pattern.search(document)
            assert found is not None
            group, target = int(found[1]), int(found[2])
            kind, channel = SYNTHETIC_KEYS[0]
            seed = synthetic_communication(group, target, kind, channel)
            changes.append(
                {
                    "group": group,
                    "target": target,
                    "communicationType": seed.communication_type,
                    "channelId": seed.channel_id,
                    "fields": {
                        "active": True,
                        "channelId": seed.channel_id,
                        "communicationType": seed.communication_type,
                        "messageTemplate": seed.message_template,
                        "offsetDays": seed.offset_days,
                        "sender": seed.sender,
                        "subjectTemplate": seed.subject_template,
                    },
                }
            )
    path = root / "revert.json"
    path.write_text(json.dumps(changes))
    return path


def apply_pairs(report: Report, work: Path, targets: int, pairs: int) -> None:
    workload = make_workload(work / "ab-apply", targets, changed_share=0.1, parallelism=PARALLELISM)
    writes = _revert_writes(workload, work)
    latency = LATENCY_MS / 1000
    lower = bound(targets, PARALLELISM, latency, None) + bound(
        workload.changed, PARALLELISM, latency, None
    )
    for kind in ("sandbox", "plain"):
        print(f"== apply ({workload.changed} changed) vs bare reads and writes, {kind}", flush=True)
        with server_for(workload, kind) as url:
            result = alternate(
                pairs,
                lambda: measure(reconciler("apply", "--auto-approve"), workload.root),
                lambda url=url: measure(_bare(workload, url, writes), REPO),
            )
        for run in (*result.ours, *result.theirs):
            expect(run, "apply pair")
        for run in result.ours:  # each apply found the same changes (the bare loop reverted)
            if f"{workload.changed} updated" not in run.output:
                print(run.output[-500:])
        report.row(_summary(f"apply T={targets} C={workload.changed}, {kind}", result, lower))
        wall = result.ratio(lambda r: r.wall)
        report.check(f"2 apply wall ratio ({kind})", f"{wall:.3f}", "≤ 1.15", wall <= 1.15)


# -- memory and CPU per target against the previous commit ---------------------------------------


def base_checkout(work: Path, commit: str) -> Path:
    target = work / f"base-{commit}"
    target.mkdir()
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", commit], check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive, check=True)
    return target


def base_deps(work: Path, base: Path) -> Path | None:
    """The previous commit's dependencies this environment no longer has (tenacity, dropped
    after 59b3ed8), pip-installed at its pinned versions into a folder of their own."""
    pins = (base / "requirements" / "constraints.txt").read_text().splitlines()
    missing = [
        pin
        for pin in pins
        if pin.startswith("tenacity==") and importlib.util.find_spec("tenacity") is None
    ]
    if not missing:
        return None
    target = work / "base-deps"
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--target", str(target)]
    subprocess.run([*command, "--no-deps", *missing], check=True)
    return target


def base_command(base: Path, *args: str, deps: Path | None = None) -> list[str]:
    paths = [str(base), *([str(deps)] if deps else [])]
    code = (
        f"import sys; sys.path[0:0] = {paths!r}; sys.argv[0] = 'reconciler'; "
        "from reconciler.cli import run; run()"
    )
    return [sys.executable, "-c", code, "--env", ENVIRONMENT, *args]


def memory(report: Report, work: Path, targets: int, pairs: int, commit: str) -> None:
    print(f"== memory and CPU: plan T={targets}, L=0, this code vs {commit}", flush=True)
    base = base_checkout(work, commit)
    deps = base_deps(work, base)
    workload = make_workload(work / "scale", targets, parallelism=PARALLELISM)
    with sandbox(workload, 0):
        result = alternate(
            pairs,
            lambda: measure(reconciler("plan"), workload.root),
            lambda: measure(base_command(base, "plan", deps=deps), workload.root),
        )
    for run in (*result.ours, *result.theirs):
        expect(run, "memory pair")
    peak = max(r.peak_mb for r in result.ours)
    peak_base = max(r.peak_mb for r in result.theirs)
    cpu = result.ratio(lambda r: r.cpu)
    per = result.median(result.ours, lambda r: r.cpu) * 1000 / targets
    per_base = result.median(result.theirs, lambda r: r.cpu) * 1000 / targets
    report.row(
        f"| plan T={targets} L=0, this code / {commit} | {pairs} | {per:.2f} / {per_base:.2f} "
        f"ms/target | {cpu:.3f} | peak {peak:.0f} / {peak_base:.0f} MB | | | |"
    )
    report.check(
        "3 peak memory", f"{peak:.0f} MB (was {peak_base:.0f} MB)", "≤ 100 MB", peak <= 100
    )
    report.check(
        "3 CPU per target vs previous",
        f"{cpu:.3f}× ({per:.2f} vs {per_base:.2f} ms)",
        "≤ 0.8×",
        cpu <= 0.8,
    )


# -- the key's budget ------------------------------------------------------------------------


def _even_shards(workload: Workload, per_shard: int, shards: int) -> int:
    """Keep ``per_shard`` targets of each shard in the manifests (the hash splits unevenly;
    this measures the sharing of the budget, not the balance of the hash)."""
    kept: dict[int, int] = {}
    pattern = re.compile(r"targetGroup: (\d+)\n  target: (\d+)\n")
    for path in sorted(workload.manifests.glob("*.yaml")):
        documents = []
        for document in path.read_text().split("---\n"):
            found = pattern.search(document)
            assert found is not None
            shard = shard_of(int(found[1]), int(found[2]), shards)
            if kept.get(shard, 0) < per_shard:
                kept[shard] = kept.get(shard, 0) + 1
                documents.append(document)
        path.write_text("---\n".join(documents))
    assert all(kept.get(k, 0) == per_shard for k in range(1, shards + 1)), kept
    return per_shard * shards


def shards(report: Report, work: Path, per_shard: int) -> None:
    count, rate = 4, 120
    workload = make_workload(work / "shards", per_shard * count * 2, groups=1)
    targets = _even_shards(workload, per_shard, count)
    write_config(workload.root, parallelism=PARALLELISM, rate_limit=rate)
    print(f"== {count} shards together, T={targets}, one key, server {rate}/min", flush=True)
    with sandbox(workload, LATENCY_MS, rate_limit=rate) as store:
        store.clear_request_log()
        started = time.perf_counter()
        processes = [
            subprocess.Popen(
                reconciler("plan", "--shard", f"{k}/{count}"),
                cwd=workload.root,
                env=child_env(),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
            for k in range(1, count + 1)
        ]
        codes = [p.wait() for p in processes]
        wall = time.perf_counter() - started
        log = store.request_log()
    if any(codes):
        raise SystemExit(f"shard runs failed: {codes}")
    throttled = sum(r.status == 429 for r in log)
    lower = targets / (rate / 60)
    share = throttled / len(log)
    report.row(
        f"| {count} shards, T={targets}, server {rate}/min, rateLimit {rate} | 1 | | | "
        f"{wall:.1f} | | {lower:.1f} (T/R) | {wall / lower:.2f} |"
    )
    report.check(
        "4 shards' 429 share", f"{throttled} of {len(log)} = {share:.1%}", "≤ 3%", share <= 0.03
    )
    report.check(
        "4 shards' wall",
        f"{wall:.1f} s = {wall / lower:.2f}× T/R ({lower:.0f} s)",
        "≤ 1.2×",
        wall <= 1.2 * lower,
    )


def unknown_limit(report: Report, work: Path, targets: int) -> None:
    rate = 600
    workload = make_workload(work / "unknown", targets, parallelism=PARALLELISM)
    print(f"== server limit {rate}/min not told, T={targets}", flush=True)
    with sandbox(workload, LATENCY_MS, rate_limit=rate) as store:
        run = measure(reconciler("plan"), workload.root, store)
    expect(run, "plan against an unknown limit")
    accepted = run.accepted / run.span * 60 if run.span else 0.0
    share = run.throttled / len(run.requests)
    report.row(
        f"| plan T={targets}, server {rate}/min, not told | 1 | {run.cpu:.2f} | | {run.wall:.1f} "
        f"| | {targets / (rate / 60):.1f} (T/R) | {run.wall / (targets / (rate / 60)):.2f} |"
    )
    report.check(
        "5 achieved rate",
        f"{accepted:.0f}/min = {accepted / rate:.1%}",
        "≥ 95%",
        accepted >= 0.95 * rate,
    )
    report.check(
        "5 answered 429",
        f"{run.throttled} of {len(run.requests)} = {share:.1%}",
        "≤ 2%",
        share <= 0.02,
    )


# -- main ------------------------------------------------------------------------------------


def markdown(report: Report, command: str) -> str:
    load = os.getloadavg()
    return "\n".join(
        [
            f"Command: `{command}` ({os.cpu_count()} CPUs, load average at the end "
            f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f})",
            "",
            "| comparison | pairs | CPU s, ours / theirs (median) | CPU ratio (median of pairs) "
            "| wall s, ours / theirs | wall ratio | bound s | wall / bound, ours / theirs |",
            "| --- | --- | --- | --- | --- | --- | --- | --- |",
            *report.rows,
            "",
            "| item | measured | target | met |",
            "| --- | --- | --- | --- |",
            *(
                f"| {c.item} | {c.measured} | {c.target} | {'yes' if c.ok else '**no**'} |"
                for c in report.checks
            ),
            "",
        ]
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--check", action="store_true", help="exit 2 when a target is missed")
    parser.add_argument(
        "--only",
        nargs="*",
        default=None,
        choices=["plan", "apply", "memory", "shards", "unknown"],
    )
    parser.add_argument("--pairs", type=int, default=None)
    parser.add_argument("--base", default="59b3ed8", help="the previous commit, for item 3")
    parser.add_argument("--markdown", type=Path, default=None)
    args = parser.parse_args()
    pairs = args.pairs or (2 if args.quick else 5)
    chosen = args.only or ["plan", "apply", "memory", "shards", "unknown"]
    report = Report()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="reconciler-floor-") as tmp:
        work = Path(tmp)
        if "plan" in chosen:
            plan_pairs(report, work, 300 if args.quick else 1000, pairs)
        if "apply" in chosen:
            apply_pairs(report, work, 300 if args.quick else 1000, pairs)
        if "memory" in chosen:
            memory(report, work, 2000 if args.quick else 10_000, min(pairs, 3), args.base)
        if "shards" in chosen:
            shards(report, work, 10 if args.quick else 30)
        if "unknown" in chosen:
            unknown_limit(report, work, 150 if args.quick else 600)
    text = markdown(report, "python benchmarks/floor.py " + " ".join(sys.argv[1:]))
    print()
    print(text)
    print(f"total {time.perf_counter() - started:.0f} s")
    if args.markdown is not None:
        args.markdown.write_text(text)
    missed = [c for c in report.checks if not c.ok]
    return 2 if args.check and missed else 0


if __name__ == "__main__":
    sys.exit(main())
