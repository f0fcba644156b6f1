"""A pull request in a benchmark workload (issue 18, acceptance 5): the workload's repository is
committed as the base, with two targets' START email read from one shared template file and a
third one's using ``${promo}``; the pull request then changes the template and the value.

``make_pull_request(workload)`` returns the base commit and the three target ids.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from workload import Workload

SHARED = "templates/shared.txt"
_IDENTITY = {
    "GIT_AUTHOR_NAME": "Bench",
    "GIT_AUTHOR_EMAIL": "bench@example.com",
    "GIT_COMMITTER_NAME": "Bench",
    "GIT_COMMITTER_EMAIL": "bench@example.com",
}


def git(root: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(root), *args],
        capture_output=True,
        text=True,
        env={**os.environ, **_IDENTITY},
        check=True,
    )
    return done.stdout.strip()


def _first_message(path: Path, target: int, replacement: str) -> None:
    """Replace the first ``messageTemplate:`` line of document ``bench-<target>`` in ``path``."""
    documents = path.read_text().split("---\n")
    for index, document in enumerate(documents):
        if f"  name: bench-{target}\n" in document:
            lines = document.splitlines(keepends=True)
            at = next(i for i, line in enumerate(lines) if line.startswith("    messageTemplate: "))
            lines[at] = f"    {replacement}\n"
            documents[index] = "".join(lines)
            break
    else:
        raise ValueError(f"no document bench-{target} in {path}")
    path.write_text("---\n".join(documents))


def make_pull_request(workload: Workload) -> tuple[str, list[int]]:
    root = workload.root
    files = sorted(workload.manifests.glob("group-*.yaml"))
    # The first target of the first three group files: three targets in three groups.
    picked = []
    for path in files[:3]:
        first = path.read_text().split("  name: bench-", 1)[1].split("\n", 1)[0]
        picked.append((path, int(first)))
    (root / "templates").mkdir(exist_ok=True)
    (root / SHARED).write_text("Hi {{first_name}}, the shared offer.\n")
    for path, target in picked[:2]:
        _first_message(path, target, f"messageTemplateFile: ../{SHARED}")
    path, target = picked[2]
    _first_message(path, target, 'messageTemplate: "Hi {{first_name}}, ${promo}."')
    config = root / "reconciler.yaml"
    config.write_text(config.read_text() + "    vars: {promo: double points}\n")
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "manifests", "templates", "reconciler.yaml")
    git(root, "commit", "-q", "-m", "base")
    base = git(root, "rev-parse", "HEAD")
    (root / SHARED).write_text("Hi {{first_name}}, the shared offer, now doubled.\n")
    config.write_text(config.read_text().replace("double points", "triple points"))
    return base, [target for _, target in picked]
