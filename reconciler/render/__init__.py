"""Renderers: pure functions from a Plan to text, JSON, markdown; helpers for GitHub Actions.

Nothing here prints, reads the environment or decides about colour: callers pass what they want.
"""
