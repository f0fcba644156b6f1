"""Plan and apply at the network's limit, measured against a real sandbox server (issue 9).

Each scenario seeds a fresh sandbox database (``workload.py``), starts
``reconciler sandbox serve --port 0 --latency-ms L`` as its own process, and times
``reconciler plan`` / ``reconciler apply --auto-approve`` as separate processes. Per run it
prints wall time, the lower bound max(ceil(T/P)·L, T/R) (for apply plus the writes' bound),
their ratio, the requests the sandbox logged, client CPU per target and peak memory of the
client process, then checks the acceptance figures of issue 9: it exits 0 unless a run fails,
and with ``--check`` 2 when a figure is missed. Issue 21's comparisons are in ``floor.py``.
The plan scenario also times ``bare_reads.py`` (a bare httpx loop) on the same server: the
fastest these reads go on this machine, whatever the client.

Usage: python benchmarks/run.py [--quick] [--check] [--only NAME ...] [--markdown FILE]
Scenarios: startup, plan, apply, naive, ratelimit, scale, lint, pr, preview (default: all, about 3 minutes;
``--quick`` about 1 minute).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import math
import os
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from pr_change import make_pull_request
from workload import Workload, make_workload

from reconciler.sandbox.auth import DEMO_PASSWORD, DEMO_USERNAME, basic_header
from reconciler.sandbox.store import RequestRecord, Store, open_store

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
RECONCILER = str(BIN / "reconciler")
NAIVE = str(Path(__file__).resolve().parent / "naive_sync.py")
BARE = str(Path(__file__).resolve().parent / "bare_reads.py")


# -- processes -------------------------------------------------------------------------------


def child_env() -> dict[str, str]:
    """The environment of every measured process: no CI switches, demo credentials, no colour."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CI", "GITHUB_", "RECONC"))}
    env.update(NO_COLOR="1", CAPILLARY_USERNAME=DEMO_USERNAME, CAPILLARY_PASSWORD=DEMO_PASSWORD)
    return env


@dataclass
class Run:
    """One measured child process."""

    wall: float
    cpu: float  # user + system seconds (getrusage RUSAGE_CHILDREN delta)
    peak_mb: float  # ru_maxrss of this child
    exit_code: int
    output: str
    requests: list[RequestRecord] = field(default_factory=list)
    started_at: float = 0.0  # epoch seconds, comparable with the request log's ``at``

    def reads_span(self) -> float:
        """Seconds between the first and the last answered read of a target's communications."""
        reads = [r.at for r in self.requests if r.path.endswith("/communications")]
        return reads[-1] - reads[0] if len(reads) > 1 else 0.0

    def count(self, predicate: Callable[[RequestRecord], bool]) -> int:
        return sum(1 for r in self.requests if predicate(r))

    @property
    def reads(self) -> int:
        return self.count(lambda r: r.method == "GET")

    @property
    def writes(self) -> int:
        return self.count(lambda r: r.is_write)

    @property
    def throttled(self) -> int:
        return self.count(lambda r: r.status == 429)

    @property
    def accepted(self) -> int:
        return self.count(lambda r: 200 <= r.status < 300)

    @property
    def span(self) -> float:
        """Seconds from the first to the last request the sandbox logged."""
        return self.requests[-1].at - self.requests[0].at if len(self.requests) > 1 else 0.0


def measure(command: list[str], cwd: Path, store: Store | None = None) -> Run:
    """Run ``command`` to completion; the sandbox's request log is cleared first, read after."""
    if store is not None:
        store.clear_request_log()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with tempfile.TemporaryFile() as out:
        started_at = time.time()
        started = time.perf_counter()
        process = subprocess.Popen(
            command, cwd=cwd, env=child_env(), stdout=out, stderr=subprocess.STDOUT
        )
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        output = out.read().decode(errors="replace")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    requests = store.request_log() if store is not None else []
    return Run(wall, cpu, usage.ru_maxrss / 1024, process.returncode, output, requests, started_at)


@contextlib.contextmanager
def sandbox(workload: Workload, latency_ms: int, rate_limit: int | None = None) -> Iterator[Store]:
    """``reconciler sandbox serve`` on a free port for ``workload``; yields its store."""
    command = [RECONCILER, "sandbox", "serve", "--port", "0", "--db", str(workload.db)]
    command += ["--latency-ms", str(latency_ms)]
    if rate_limit is not None:
        command += ["--rate-limit", str(rate_limit)]
    discovery = workload.db.parent / "sandbox.json"
    with open(workload.root / "sandbox.log", "wb") as log:
        server = subprocess.Popen(
            command, cwd=workload.root, env=child_env(), stdout=log, stderr=subprocess.STDOUT
        )
    try:
        _wait_for(server, discovery)
        store = open_store(workload.db)
        yield store
        store.close()
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def _wait_for(server: subprocess.Popen[bytes], discovery: Path) -> str:
    """The server's URL once it answers an authenticated request."""
    deadline = time.monotonic() + 30
    headers = {"Authorization": basic_header(DEMO_USERNAME, DEMO_PASSWORD)}
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"sandbox server exited with {server.returncode}")
        with contextlib.suppress(OSError, ValueError, KeyError, httpx.HTTPError):
            found = json.loads(discovery.read_text())
            if found["pid"] == server.pid:
                url = str(found["url"])
                response = httpx.get(f"{url}/v3/targetGroups/channels", headers=headers)
                if response.status_code == 200:
                    return url
        time.sleep(0.05)
    raise RuntimeError("sandbox server did not start within 30 s")


def reconciler(*args: str) -> list[str]:
    return [RECONCILER, "--env", "bench", *args]


# -- bounds and reporting --------------------------------------------------------------------


def bound(count: int, parallelism: int, latency: float, rate: float | None) -> float:
    """max(ceil(T/P)·L, T/R): no client can read ``count`` targets faster."""
    return max(math.ceil(count / parallelism) * latency, count / rate if rate else 0.0)


@dataclass
class Check:
    figure: str
    measured: str
    target: str
    ok: bool


@dataclass
class Report:
    startup: float = 0.0  # median wall of `reconciler --version`
    checks: list[Check] = field(default_factory=list)
    rows: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def check(self, figure: str, measured: str, target: str, ok: bool) -> None:
        self.checks.append(Check(figure, measured, target, ok))
        print(f"  [{'ok' if ok else 'MISSED'}] {figure}: {measured} (target {target})")

    def row(self, name: str, workload: Workload | None, run: Run, lower: float | None) -> None:
        targets = workload.targets if workload else 0
        ratio = f"{run.wall / lower:.2f}" if lower else "-"
        shown = f"{lower:.2f}" if lower else "-"
        cpu = f"{run.cpu * 1000 / targets:.2f}" if targets else "-"
        requests = (
            f"{len(run.requests)} ({run.reads} GET, {run.writes} POST, {run.throttled} × 429)"
            if run.requests
            else "-"
        )
        line = (
            f"| {name} | {run.wall:.2f} | {shown} | {ratio} | {requests} "
            f"| {cpu} | {run.peak_mb:.0f} |"
        )
        self.rows.append(line)
        print(
            f"{name}: wall {run.wall:.2f} s, lower bound {shown} s, ratio {ratio}, "
            f"requests {requests}, CPU {cpu} ms/target, peak {run.peak_mb:.0f} MB, "
            f"exit {run.exit_code}"
        )
        if run.exit_code not in (0,):
            print(run.output[-2000:])


def expect_exit(run: Run, code: int = 0) -> None:
    if run.exit_code != code:
        raise SystemExit(f"unexpected exit code {run.exit_code}:\n{run.output[-3000:]}")


# -- scenarios -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sizes:
    plan_targets: int = 1000
    naive_targets: int = 200
    rate_targets: int = 300
    scale_targets: int = 10_000


FULL = Sizes()
QUICK = Sizes(plan_targets=300, naive_targets=50, rate_targets=150, scale_targets=2000)
LATENCY_MS = 50
PARALLELISM = 16
SERVER_RATE_PER_MINUTE = 600


def startup(report: Report, work: Path) -> None:
    del work
    print("== start-up")
    versions = [measure([RECONCILER, "--version"], REPO).wall for _ in range(7)]
    validates = [measure([RECONCILER, "validate", "manifests/"], REPO) for _ in range(5)]
    for run in validates:
        expect_exit(run)
    report.startup = statistics.median(versions)
    validate = statistics.median(r.wall for r in validates)
    report.rows.append(f"| `reconciler --version` (median of 7) | {report.startup:.3f} | | | | | |")
    report.rows.append(
        f"| `reconciler validate manifests/` (median of 5) | {validate:.3f} | | | | | |"
    )
    report.check("6 --version wall", f"{report.startup:.3f} s", "< 0.3 s", report.startup < 0.3)
    report.check("6 validate wall", f"{validate:.3f} s", "< 1 s", validate < 1.0)


def plan_scenario(report: Report, work: Path, sizes: Sizes) -> None:
    targets = sizes.plan_targets
    print(f"== plan: T={targets}, L={LATENCY_MS} ms, P={PARALLELISM}")
    workload = make_workload(work / "plan", targets, parallelism=PARALLELISM)
    bare_command = [sys.executable, BARE, str(workload.root), "--parallelism", str(PARALLELISM)]
    with sandbox(workload, LATENCY_MS) as store:
        run = measure(reconciler("plan"), workload.root, store)
        bare = measure(bare_command, REPO, store)
    expect_exit(run)
    expect_exit(bare)
    lower = bound(targets, PARALLELISM, LATENCY_MS / 1000, None)
    report.row(f"plan T={targets} L={LATENCY_MS}ms P={PARALLELISM}", workload, run, lower)
    floor = dataclasses.replace(bare, wall=bare.reads_span())
    report.row(
        f"bare httpx loop, same server, reads only (the floor) T={targets}", None, floor, lower
    )
    resolved = run.requests[workload.groups + 1].at - run.started_at
    reads = run.reads_span()
    note = (
        f"plan T={targets}, where the time goes: first answer at "
        f"+{run.requests[0].at - run.started_at:.2f} s (interpreter, imports, {targets} "
        f"manifests, one round trip), resolution answered at +{resolved:.2f} s, reads "
        f"{reads:.2f} s from first to last answer (bare httpx on the same server: "
        f"{bare.reads_span():.2f} s), exit at +{run.wall:.2f} s"
    )
    report.notes.append(note)
    print(f"  {note}")
    limit = 1.3 * lower + report.startup
    report.check(
        "1 plan wall",
        f"{run.wall:.2f} s = {run.wall / lower:.2f}× bound {lower:.2f} s",
        f"≤ 1.3 × {lower:.2f} + {report.startup:.2f} = {limit:.2f} s",
        run.wall <= limit,
    )


def apply_scenario(report: Report, work: Path, sizes: Sizes) -> None:
    targets = sizes.plan_targets
    print(f"== apply: T={targets}, 10% changed, L={LATENCY_MS} ms, P={PARALLELISM}")
    workload = make_workload(work / "apply", targets, changed_share=0.1, parallelism=PARALLELISM)
    with sandbox(workload, LATENCY_MS) as store:
        run = measure(reconciler("apply", "--auto-approve"), workload.root, store)
        again = measure(reconciler("plan", "--detailed-exitcode"), workload.root, store)
    expect_exit(run)
    expect_exit(again)  # converged: the next plan shows no change
    changed = workload.changed
    latency = LATENCY_MS / 1000
    lower = bound(targets, PARALLELISM, latency, None) + bound(changed, PARALLELISM, latency, None)
    report.row(
        f"apply T={targets} C={changed} L={LATENCY_MS}ms P={PARALLELISM}", workload, run, lower
    )
    writes = [r.at for r in run.requests if r.is_write]
    note = (
        f"apply T={targets} C={changed}, where the time goes: reads {run.reads_span():.2f} s "
        f"from first to last answer, last read to last write {writes[-1] - run.requests[-1 - len(writes)].at:.2f} s, "
        f"exit at +{run.wall:.2f} s"
        if writes
        else f"apply T={targets}: no writes"
    )
    report.notes.append(note)
    print(f"  {note}")
    limit = 1.3 * lower + report.startup
    report.check(
        "2 apply wall",
        f"{run.wall:.2f} s = {run.wall / lower:.2f}× bound {lower:.2f} s",
        f"≤ 1.3 × {lower:.2f} + {report.startup:.2f} = {limit:.2f} s",
        run.wall <= limit,
    )
    resolution = workload.groups + 2
    report.check(
        "2 apply requests",
        f"{run.reads} reads + {run.writes} writes",
        f"{targets} + {resolution} (groups, channels, {workload.groups} target lists) reads, "
        f"{changed} writes",
        run.reads == targets + resolution and run.writes == changed,
    )


def naive_scenario(report: Report, work: Path, sizes: Sizes) -> None:
    targets = sizes.naive_targets
    print(f"== naive baseline vs apply: T={targets}, 10% changed, L={LATENCY_MS} ms")
    ours_workload = make_workload(
        work / "ours", targets, changed_share=0.1, parallelism=PARALLELISM
    )
    with sandbox(ours_workload, LATENCY_MS) as store:
        ours = measure(reconciler("apply", "--auto-approve"), ours_workload.root, store)
    expect_exit(ours)
    naive_workload = make_workload(
        work / "naive", targets, changed_share=0.1, parallelism=PARALLELISM
    )
    with sandbox(naive_workload, LATENCY_MS) as store:
        naive = measure([sys.executable, NAIVE, str(naive_workload.root)], REPO, store)
    expect_exit(naive)
    report.row(f"apply T={targets} (reconciler)", ours_workload, ours, None)
    report.row(f"naive_sync.py T={targets}", naive_workload, naive, None)
    time_ratio = naive.wall / ours.wall
    request_ratio = len(naive.requests) / len(ours.requests)
    report.check(
        "3 naive/ours wall",
        f"{naive.wall:.1f} s / {ours.wall:.2f} s = {time_ratio:.1f}×",
        "≥ 20×",
        time_ratio >= 20,
    )
    report.check(
        "3 naive/ours requests",
        f"{len(naive.requests)} / {len(ours.requests)} = {request_ratio:.1f}×",
        "> 1×",
        request_ratio > 1,
    )


def rate_scenario(report: Report, work: Path, sizes: Sizes) -> None:
    targets = sizes.rate_targets
    rate = SERVER_RATE_PER_MINUTE
    print(f"== server rate limit: T={targets}, --rate-limit {rate}/min, P={PARALLELISM}")
    workload = make_workload(work / "rate", targets, parallelism=PARALLELISM)
    with sandbox(workload, LATENCY_MS, rate_limit=rate) as store:
        run = measure(reconciler("plan"), workload.root, store)
    expect_exit(run)
    lower = bound(targets, PARALLELISM, LATENCY_MS / 1000, rate / 60)
    report.row(f"plan T={targets} server {rate}/min P={PARALLELISM}", workload, run, lower)
    achieved = run.accepted / run.span * 60 if run.span else 0.0
    overall = run.accepted / (run.wall - report.startup) * 60
    share = run.throttled / len(run.requests)
    report.check(
        "4 achieved rate",
        f"{achieved:.0f}/min = {achieved / rate:.0%} of {rate}/min over the requests' span "
        f"({overall / rate:.0%} over the process's wall time minus start-up)",
        "≥ 85%",
        achieved >= 0.85 * rate,
    )
    report.check(
        "4 answered 429",
        f"{run.throttled} of {len(run.requests)} = {share:.1%}",
        "≤ 5%",
        share <= 0.05,
    )


def scale_scenario(report: Report, work: Path, sizes: Sizes) -> None:
    targets = sizes.scale_targets
    print(f"== scale: plan T={targets}, L=0, P={PARALLELISM}")
    workload = make_workload(work / "scale", targets, parallelism=PARALLELISM)
    with sandbox(workload, 0) as store:
        run = measure(reconciler("plan"), workload.root, store)
    expect_exit(run)
    report.row(f"plan T={targets} L=0 P={PARALLELISM}", workload, run, None)
    per_target = run.cpu * 1000 / targets
    report.check("5 peak memory", f"{run.peak_mb:.0f} MB", "< 300 MB", run.peak_mb < 300)
    report.check(
        "5 client CPU",
        f"{per_target:.2f} ms/target ({run.cpu:.2f} s; wall {run.wall:.2f} s)",
        "< 3 ms/target",
        per_target < 3,
    )


PR_RATE_PER_MINUTE = 100  # Capillary's documented limit per API key on demo clusters
PR_TARGETS = 1000


def pr_scenario(report: Report, work: Path, sizes: Sizes) -> None:
    """Issue 18, acceptance 5: a pull request changing 3 of 1,000 targets (a template file two
    of them share, a ``vars`` value the third uses), at a server limit of 100 requests a
    minute, with the client's ``rateLimit`` at the same figure. The pull request's plan
    (``--changed-since`` the base commit) is timed; the full plan's time is its request count
    (counted on an unthrottled server) divided by the limit, not waited for."""
    del sizes  # the figure is for 1,000 targets, quick or not
    rate = PR_RATE_PER_MINUTE
    print(f"== pull-request plan: T={PR_TARGETS}, 3 changed, server and client at {rate}/min")
    workload = make_workload(work / "pr", PR_TARGETS, parallelism=PARALLELISM, rate_limit=rate)
    base, changed = make_pull_request(workload)
    command = reconciler("plan", "--changed-since", base, "--format", "json")
    with sandbox(workload, LATENCY_MS, rate_limit=rate) as store:
        pr = measure(command, workload.root, store)
    expect_exit(pr)
    report.row(f"plan --changed-since, T={PR_TARGETS}, 3 changed, {rate}/min", workload, pr, None)
    read = sorted(
        int(r.path.split("/")[5]) for r in pr.requests if r.path.endswith("/communications")
    )
    expected = 3 + 3 + 2  # k + G_k + 2: the three targets are in three groups
    config = workload.root / "reconciler.yaml"
    config.write_text(config.read_text().replace(f"    rateLimit: {rate}\n", ""))
    with sandbox(workload, 0) as store:
        full = measure(reconciler("plan"), workload.root, store)
    expect_exit(full)
    minutes = len(full.requests) / rate
    report.notes.append(
        f"issue 18: the full plan of the same repository sends {len(full.requests)} requests "
        f"({full.wall:.1f} s unthrottled): {minutes:.1f} minutes at {rate} requests a minute"
    )
    report.check("18.5 PR plan wall", f"{pr.wall:.2f} s", "< 10 s", pr.wall < 10)
    report.check(
        "18.5 PR plan requests",
        f"{len(pr.requests)}, reading targets {read}",
        f"k + G_k + 2 = {expected}, the 3 changed",
        len(pr.requests) == expected and read == sorted(changed),
    )
    report.check(
        "18.5 full plan at the limit",
        f"{len(full.requests)} requests / {rate} a minute = {minutes:.1f} min",
        "> 10 min",
        minutes > 10,
    )


LINT_RUNS = 9  # of each, alternating, so that a drift of the machine's speed hits both alike


def lint_scenario(report: Report, work: Path, sizes: Sizes) -> None:
    """Issue 17, acceptance 5: lint adds at most 20% to ``validate``'s wall time on 1,000
    manifests of 4 communications each (one file per manifest, so each is read and linted as
    a file of its own)."""
    del sizes  # the figure is for 1,000 manifests, quick or not
    targets = 1000
    print(f"== lint: validate with and without lint, {targets} manifests × 4 communications")
    workload = make_workload(work / "lint", targets)
    for group_file in sorted(workload.manifests.glob("group-*.yaml")):
        for n, document in enumerate(group_file.read_text().split("---\n")):
            (workload.manifests / f"{group_file.stem}-{n:03d}.yaml").write_text(document)
        group_file.unlink()
    with_lint: list[Run] = []
    without: list[Run] = []
    for _ in range(LINT_RUNS):
        without.append(measure(reconciler("validate", "--no-lint"), workload.root))
        with_lint.append(measure(reconciler("validate"), workload.root))
    for run in (*with_lint, *without):
        expect_exit(run)
    linted = statistics.median(r.wall for r in with_lint)
    bare = statistics.median(r.wall for r in without)
    ratio = linted / bare
    report.rows.append(
        f"| `validate` T={targets}, lint (median of {LINT_RUNS}) | {linted:.3f} | | | | | |"
    )
    report.rows.append(
        f"| `validate --no-lint` T={targets} (median of {LINT_RUNS}) | {bare:.3f} | | | | | |"
    )
    print(f"validate: {linted:.3f} s with lint, {bare:.3f} s without; ratio {ratio:.3f}")
    report.check(
        "17.5 lint overhead",
        f"{ratio:.2f}× ({linted:.2f} s with lint, {bare:.2f} s without)",
        "≤ 1.20×",
        ratio <= 1.20,
    )


PREVIEW = str(Path(__file__).resolve().parent / "preview_page.py")
PREVIEW_TARGETS = 1000
PREVIEW_RUNS = 3


def preview_scenario(report: Report, work: Path, sizes: Sizes) -> None:
    """Issue 22, acceptance 5: ``reconciler preview`` of 1,000 targets (4,000 communications)
    written in under 2 s, from the command's start to the written page (``preview_page.py``,
    its own process each time; the median of three runs)."""
    del work, sizes  # the figure is for 1,000 targets, quick or not
    print(f"== preview: T={PREVIEW_TARGETS}, {PREVIEW_TARGETS * 4} communications")
    runs = []
    for _ in range(PREVIEW_RUNS):
        command = [sys.executable, PREVIEW, "--targets", str(PREVIEW_TARGETS), "--json"]
        run = measure(command, REPO)
        expect_exit(run)
        runs.append(json.loads(run.output.strip().splitlines()[-1]))
    elapsed = statistics.median(r["elapsed"] for r in runs)
    page = statistics.median(r["page_only"] for r in runs)
    report.rows.append(
        f"| `preview` T={PREVIEW_TARGETS} (median of {PREVIEW_RUNS}, "
        f"{runs[0]['bytes'] / 1e6:.1f} MB page) | {elapsed:.2f} | | | | | |"
    )
    report.check(
        "22.5 preview of 1,000 targets",
        f"{elapsed:.2f} s (the page alone {page:.2f} s)",
        "< 2 s",
        elapsed < 2,
    )


SCENARIOS: dict[str, Callable[[Report, Path, Sizes], None]] = {
    "plan": plan_scenario,
    "apply": apply_scenario,
    "naive": naive_scenario,
    "ratelimit": rate_scenario,
    "scale": scale_scenario,
    "lint": lint_scenario,
    "pr": pr_scenario,
    "preview": preview_scenario,
}


def markdown(report: Report, command: str) -> str:
    lines = [
        f"Command: `{command}` ({os.cpu_count()} CPUs)",
        "",
        "| run | wall s | lower bound s | ratio | requests (sandbox log) | client CPU ms/target "
        "| peak MB |",
        "| --- | --- | --- | --- | --- | --- | --- |",
        *report.rows,
        "",
        "| figure | measured | target | met |",
        "| --- | --- | --- | --- |",
        *(
            f"| {c.figure} | {c.measured} | {c.target} | {'yes' if c.ok else '**no**'} |"
            for c in report.checks
        ),
        "",
        *(f"- {note}" for note in report.notes),
    ]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller sizes (about a minute)")
    parser.add_argument("--only", nargs="*", choices=["startup", *SCENARIOS], default=None)
    parser.add_argument("--markdown", type=Path, default=None, help="also write the tables here")
    parser.add_argument("--check", action="store_true", help="exit 2 when a figure is missed")
    args = parser.parse_args()
    sizes = QUICK if args.quick else FULL
    chosen = args.only or ["startup", *SCENARIOS]
    report = Report()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="reconciler-bench-") as tmp:
        work = Path(tmp)
        # Start-up is always measured: figures 1 and 2 allow for it.
        startup(report, work)
        for name in chosen:
            if name != "startup":
                SCENARIOS[name](report, work, sizes)
    command = "python benchmarks/run.py " + " ".join(sys.argv[1:])
    text = markdown(report, command.strip())
    print()
    print(text)
    print(f"total {time.perf_counter() - started:.0f} s")
    if args.markdown is not None:
        args.markdown.write_text(text)
    return 2 if args.check and not all(c.ok for c in report.checks) else 0


if __name__ == "__main__":
    sys.exit(main())
