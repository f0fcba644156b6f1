"""The page's own stylesheet and policy fetch nothing: no font, no import, no remote image."""

from __future__ import annotations

import re

from reconciler.preview.style import CSS, PAGE_CSP


def test_the_stylesheet_loads_nothing() -> None:
    assert "@import" not in CSS
    assert "@font-face" not in CSS
    assert re.findall(r"url\(", CSS) == []
    assert "http" not in CSS


def test_the_page_policy_allows_no_script_and_no_remote_resource() -> None:
    directives = dict(d.strip().split(" ", 1) for d in PAGE_CSP.split(";"))
    assert directives["default-src"] == "'none'"
    assert directives["img-src"] == "data:"
    assert directives["frame-src"] == "'none'"
    assert "script-src" not in directives  # default-src 'none' covers scripts
