"""What shell completion offers beyond commands and options: the environments of the
configuration (``--env``) and the selectors of the manifests (``--select``). A completion must
never fail or print: any problem (no configuration, a broken manifest) offers nothing.
"""

from __future__ import annotations

from pathlib import Path


def environments(config: Path | None, incomplete: str = "") -> list[str]:
    """The environments of reconciler.yaml (and ``sandbox``, always there), sorted."""
    from reconciler.config import SANDBOX, load_config

    try:
        loaded, _ = load_config(config)
    except Exception:  # a completion offers nothing rather than fail
        return []
    names = sorted({SANDBOX, *loaded.environments})
    return [name for name in names if name.startswith(incomplete)]


def selectors(config: Path | None, env: str | None, incomplete: str = "") -> list[str]:
    """``k=v`` for every label of the manifests, and ``name=<metadata.name>``, sorted."""
    from reconciler.config import select
    from reconciler.manifests import load_manifests

    try:
        settings = select(config, env, network=False)
        result = load_manifests(
            list(settings.manifests), variables=settings.env.vars, root=settings.root
        )
    except Exception:  # a completion offers nothing rather than fail
        return []
    found: set[str] = set()
    for document in result.documents:
        metadata = document.model.metadata
        found.add(f"name={metadata.name}")
        found.update(f"{key}={value}" for key, value in metadata.labels.items())
    return sorted(value for value in found if value.startswith(incomplete))
