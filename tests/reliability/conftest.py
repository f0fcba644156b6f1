"""Fixtures of the reliability suite (issue 10): the in-process CLI, a repository, fast retries."""

from __future__ import annotations

from tests.reliability.kit import cli, fast_retries, repo

__all__ = ["cli", "fast_retries", "repo"]
