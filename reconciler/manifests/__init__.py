"""Manifests (SPEC §3): strict YAML reading and writing, the document schema, ${var}s, and the
reference rules. The only importer of ruamel.yaml."""

from __future__ import annotations

from reconciler.manifests.load import LoadedDocument, LoadResult, ManifestLoader, load_manifests

__all__ = ["LoadResult", "LoadedDocument", "ManifestLoader", "load_manifests"]
