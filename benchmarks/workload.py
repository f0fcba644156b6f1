"""Benchmark workloads: a seeded sandbox database and manifests that match it (issue 9).

``make_workload`` seeds ``T`` targets in ``G`` groups (4 live communications each, through
``seed_synthetic``) and writes one manifest document per target that declares exactly the
seeded communications, except for a chosen share of targets whose START email gets a new
message (one ``update`` each). It also writes the ``reconciler.yaml`` the runner uses.

Usage: python benchmarks/workload.py DIR --targets 1000 [--groups 10] [--changed 0.1]
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path

from reconciler.sandbox.seed import SYNTHETIC_KEYS, seed_synthetic, synthetic_communication
from reconciler.sandbox.tables import CommunicationSeed

COMMS_PER_TARGET = 4
ENVIRONMENT = "bench"
CHANNEL_NAMES = {1: "SMS", 2: "EMAIL", 3: "MOBILE PUSH"}


@dataclass(frozen=True)
class Workload:
    """Where a generated workload lives and what it holds."""

    root: Path  # the directory with reconciler.yaml; commands run here
    db: Path  # <root>/.reconciler/sandbox.db, where the config's sandbox endpoint looks
    targets: int
    groups: int
    changed: int  # targets whose manifest differs from the live state (one update each)

    @property
    def manifests(self) -> Path:
        return self.root / "manifests"


def default_groups(targets: int) -> int:
    """About 100 targets per group, and a whole number of targets in each."""
    groups = max(1, targets // 100)
    while targets % groups:
        groups -= 1
    return groups


def is_changed(index: int, targets: int, share: float) -> bool:
    """Spread ``round(targets * share)`` changed targets evenly over the index range."""
    count = round(targets * share)
    return (index + 1) * count // targets > index * count // targets


def _document(group: int, target: int, seeds: list[CommunicationSeed], changed: bool) -> str:
    lines = [
        "apiVersion: reconciler/v1",
        "kind: TargetCommunications",
        "metadata:",
        f"  name: bench-{target}",
        "  labels: {team: bench}",
        "target:",
        f"  targetGroup: {group}",
        f"  target: {target}",
        "communications:",
    ]
    for n, seed in enumerate(seeds):
        message = seed.message_template
        if changed and n == 0:
            message += " Now with double points."
        lines += [
            f"  - communicationType: {seed.communication_type}",
            f"    channel: {CHANNEL_NAMES[seed.channel_id]}",
            f"    sender: {json.dumps(seed.sender)}",
            f"    subjectTemplate: {json.dumps(seed.subject_template)}",
            f"    messageTemplate: {json.dumps(message)}",
            f"    offsetDays: {seed.offset_days}",
        ]
    return "\n".join(lines) + "\n"


def write_config(root: Path, *, parallelism: int, rate_limit: int | None = None) -> None:
    """The benchmark environment: the sandbox server the runner started, over HTTP.

    ``endpoint: sandbox`` finds the running ``reconciler sandbox serve`` through the discovery
    file next to ``.reconciler/sandbox.db`` and talks to it over loopback HTTP with Basic auth,
    exactly as to ``http://127.0.0.1:PORT``; unlike a URL endpoint it carries no default
    ``rateLimit`` (SPEC §6), so ``rateLimit`` is set only where a scenario says.
    """
    lines = [
        "manifests: manifests/",
        f"defaultEnvironment: {ENVIRONMENT}",
        "environments:",
        f"  {ENVIRONMENT}:",
        "    endpoint: sandbox",
        "    auth: basic",
        f"    parallelism: {parallelism}",
    ]
    if rate_limit is not None:
        lines.append(f"    rateLimit: {rate_limit}")
    (root / "reconciler.yaml").write_text("\n".join(lines) + "\n")


def make_workload(
    root: Path,
    targets: int,
    *,
    groups: int | None = None,
    changed_share: float = 0.0,
    parallelism: int = 16,
    rate_limit: int | None = None,
) -> Workload:
    """Seed ``root/.reconciler/sandbox.db`` and write matching manifests under ``root``."""
    groups = groups or default_groups(targets)
    if targets % groups:
        raise ValueError(f"{targets} targets do not split evenly into {groups} groups")
    db = root / ".reconciler" / "sandbox.db"
    db.parent.mkdir(parents=True, exist_ok=True)
    programme = seed_synthetic(db, groups, targets // groups, COMMS_PER_TARGET)
    manifests = root / "manifests"
    manifests.mkdir(parents=True, exist_ok=True)
    index = 0
    changed = 0
    for group, target_ids in programme.targets.items():
        documents = []
        for target in target_ids:
            seeds = [
                synthetic_communication(group, target, kind, channel)
                for kind, channel in SYNTHETIC_KEYS[:COMMS_PER_TARGET]
            ]
            change = is_changed(index, targets, changed_share)
            changed += change
            documents.append(_document(group, target, seeds, change))
            index += 1
        (manifests / f"group-{group}.yaml").write_text("---\n".join(documents))
    write_config(root, parallelism=parallelism, rate_limit=rate_limit)
    return Workload(root, db, targets, groups, changed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("directory", type=Path)
    parser.add_argument("--targets", type=int, default=1000)
    parser.add_argument("--groups", type=int, default=None)
    parser.add_argument("--changed", type=float, default=0.0, help="share of changed targets")
    parser.add_argument("--parallelism", type=int, default=16)
    parser.add_argument("--rate-limit", type=int, default=None, help="client rateLimit per min")
    args = parser.parse_args()
    workload = make_workload(
        args.directory,
        args.targets,
        groups=args.groups,
        changed_share=args.changed,
        parallelism=args.parallelism,
        rate_limit=args.rate_limit,
    )
    print(
        f"{workload.targets} targets in {workload.groups} groups, {workload.changed} changed; "
        f"database {workload.db}, manifests {workload.manifests}"
    )


if __name__ == "__main__":
    main()
