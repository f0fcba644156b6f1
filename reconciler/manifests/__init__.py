"""Manifests (SPEC §3): strict YAML reading, the document schema, ${var}s and cross-document rules."""

from __future__ import annotations

from reconciler.manifests.load import LoadedDocument, LoadResult, ManifestLoader, load_manifests

__all__ = ["LoadResult", "LoadedDocument", "ManifestLoader", "load_manifests"]
