"""Git repositories a test builds: init, commit, a shallow clone, and the pull-request
repository of issue 18 (many synthetic targets, a template file two of them share, a ``vars``
value one of them uses)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from reconciler.sandbox.seed import (
    EMAIL,
    SYNTHETIC_KEYS,
    seed_synthetic,
    synthetic_communication,
)
from reconciler.sandbox.store import Store, open_store
from tests.support.cli import SENDER, write_config
from tests.support.manifests import yaml_scalar

_IDENTITY = {
    "GIT_AUTHOR_NAME": "Test",
    "GIT_AUTHOR_EMAIL": "test@example.com",
    "GIT_COMMITTER_NAME": "Test",
    "GIT_COMMITTER_EMAIL": "test@example.com",
}


def git(repo: Path, *args: str, input: str | None = None) -> str:
    """Run git in ``repo`` (``input`` on its stdin); its stdout. Fails the test on a non-zero
    exit."""
    env = {**os.environ, **_IDENTITY, "GIT_CONFIG_NOSYSTEM": "1", "HOME": str(repo.parent)}
    done = subprocess.run(
        ["git", "-C", str(repo), *args],
        input=input,
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def init(repo: Path) -> None:
    git(repo, "init", "-q", "-b", "main")


def commit(repo: Path, message: str = "change") -> str:
    """Commit everything in the work tree; the new commit's id."""
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "--allow-empty", "-m", message)
    return git(repo, "rev-parse", "HEAD")


def shallow_clone(source: Path, into: Path) -> None:
    """A depth-1 clone of ``source``'s main, as actions/checkout makes by default."""
    git(into.parent, "clone", "-q", "--depth", "1", f"file://{source}", str(into))


# --- the pull-request repository ---------------------------------------------------------------

SHARED = ("templates/shared.txt", "Hi {{first_name}}, the shared offer.\n")
COMMUNICATIONS = 4  # per target: the first keys of SYNTHETIC_KEYS
PROMO = "promo"
PROMO_BASE = "double points"


def pr_repository(repo: Path, db: Path, *, groups: int = 10, per_group: int = 100) -> list[int]:
    """Seed ``db`` with ``groups`` x ``per_group`` targets (as ``seed_synthetic``) and write
    one manifest file per group that matches live state, except that the START email of the
    first target of the first group reads ``${promo}`` and those of the first target of the
    second and third groups read the shared template file (live already holds those texts).
    Returns those three target ids (template, template, var), in that order."""
    programme = seed_synthetic(db, groups, per_group, COMMUNICATIONS)
    store = open_store(db)
    (repo / "templates").mkdir(parents=True, exist_ok=True)
    (repo / SHARED[0]).write_text(SHARED[1])
    shared_by = [
        programme.targets[programme.groups[1]][0],
        programme.targets[programme.groups[2]][0],
    ]
    promoted = programme.targets[programme.groups[0]][0]
    groups_of = {t: g for g, ids in programme.targets.items() for t in ids}
    for target, text in ((t, SHARED[1]) for t in shared_by):
        _set_start(store, groups_of[target], target, text)
    _set_start(store, groups_of[promoted], promoted, promo_text(PROMO_BASE))
    store.close()
    for group, targets in programme.targets.items():
        documents = [_document(group, t, shared_by, promoted) for t in targets]
        (repo / "manifests").mkdir(exist_ok=True)
        (repo / "manifests" / f"group-{group}.yaml").write_text("---\n".join(documents))
    return [*shared_by, promoted]


def pr_config(repo: Path, url: str, promo: str, **extra: object) -> None:
    """reconciler.yaml for the pull-request repository, with ``vars.promo``."""
    write_config(repo, url, **extra)
    config = repo / "reconciler.yaml"
    vars_line = f"    vars: {{sender: {SENDER}}}"
    text = config.read_text().replace(vars_line, f"    vars: {{sender: {SENDER}, promo: {promo}}}")
    config.write_text(text)


def _set_start(store: Store, group: int, target: int, text: str) -> None:
    """Live's START email of one target reads ``text``, as the base's manifest says."""
    row = next(
        c
        for c in store.communications(group, target)
        if c["communicationType"] == "START" and c["channelId"] == EMAIL
    )
    store.edit_communication(row["id"], message_template=text)


def promo_text(value: str) -> str:
    return f"Hi {{{{first_name}}}}, {value}."


def _document(group: int, target: int, shared_by: list[int], promoted: int) -> str:
    lines = [
        "apiVersion: reconciler/v1",
        "kind: TargetCommunications",
        f"metadata: {{name: t-{target}}}",
        f"target: {{targetGroup: {group}, target: {target}}}",
        "communications:",
    ]
    for kind, channel in SYNTHETIC_KEYS[:COMMUNICATIONS]:
        seed = synthetic_communication(group, target, kind, channel)
        message = f"messageTemplate: {yaml_scalar(seed.message_template)}"
        if (kind, channel) == ("START", EMAIL) and target in shared_by:
            message = "messageTemplateFile: ../templates/shared.txt"
        elif (kind, channel) == ("START", EMAIL) and target == promoted:
            message = f"messageTemplate: {yaml_scalar(promo_text('${' + PROMO + '}'))}"
        sender = "${sender}" if seed.sender == SENDER else seed.sender
        lines += [
            f"  - communicationType: {kind}",
            f"    channelId: {channel}",
            f"    sender: {yaml_scalar(sender)}",
            f"    subjectTemplate: {yaml_scalar(seed.subject_template)}",
            f"    {message}",
            f"    offsetDays: {seed.offset_days}",
        ]
    return "\n".join(lines) + "\n"
