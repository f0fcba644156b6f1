"""Which files are manifests: files and directories given on the command line, expanded.

Looks at names and links only; reads no manifest content.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from reconciler.diagnostics import Diagnostic
from reconciler.manifests.templates import leads_outside

MANIFEST_SUFFIXES = (".yaml", ".yml")


def find_manifest_files(
    paths: Iterable[str], root: Path | None = None
) -> tuple[list[Path], list[Diagnostic]]:
    """Expand files and directories (recursively, sorted) into manifest files.

    With ``root``, a file found in a directory through a link that leads out of both that
    directory and ``root`` is a problem, not a manifest: a pull request adding
    ``manifests/x.yaml -> ~/.netrc`` must not get that file's content quoted back in error
    messages (SPEC §7). Files and directories given by name are read wherever they are.
    """
    found: list[Path] = []
    problems: list[Diagnostic] = []
    for given in paths:
        path = Path(given)
        if path.is_dir():
            files = sorted(
                p
                for p in path.rglob("*")
                if p.suffix in MANIFEST_SUFFIXES
                and p.is_file()
                and not any(part.startswith(".") for part in p.relative_to(path).parts)
            )
            if not files:
                problems.append(
                    Diagnostic(given, 0, 0, "no manifests (*.yaml, *.yml) in this directory")
                )
            if root is not None:
                inside = path.resolve()
                outside = [f for f in files if leads_outside(f, inside, root)]
                problems.extend(
                    Diagnostic(
                        display(f),
                        0,
                        0,
                        "is a link to a file outside the repository; manifests are read only "
                        "from inside it",
                    )
                    for f in outside
                )
                files = [f for f in files if f not in outside]
            found.extend(files)
        elif path.is_file():
            found.append(path)
        elif path.exists():
            problems.append(Diagnostic(given, 0, 0, "not a regular file or directory"))
        else:
            problems.append(Diagnostic(given, 0, 0, "no such file or directory"))
    unique = list(dict.fromkeys(found))
    return unique, problems


def display(path: Path) -> str:
    try:
        return os.path.relpath(path)
    except ValueError:  # another drive on Windows
        return str(path)
