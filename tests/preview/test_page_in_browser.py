"""The preview page in headless Chromium (issue 22, acceptance 1 and 2): the demo's page loads
with no console message and no request, one card per communication with its counts, and a
screenshot; a hostile template runs nothing. Skipped without a Chromium binary (the run's
summary says so in one line: tests/conftest.py).

Requests are seen two ways: the browser's net log (every request a document started) and a
loopback server the hostile template points at. A control page, the same page with the
sandbox opened and the policies taken out, proves that both would see a script that ran.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from reconciler.cli import main
from tests.support import ROOT
from tests.support.browser import SKIP_REASON, chromium, counting_server, visit
from tests.support.manifests import communication, manifest
from tests.support.preview import cards

BROWSER = chromium()
if BROWSER is None:  # one skip for the module: `make test` says so in one line
    pytest.skip(SKIP_REASON, allow_module_level=True)

_TITLE = re.compile(r"<title>(.*?)</title>", re.S)


def _preview(repo: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    assert main(["--env", "sandbox", "preview", "--out", str(repo / "out")]) == 0
    capsys.readouterr()
    return repo / "out" / "index.html"


def test_the_demo_page_loads_offline_with_a_card_per_communication(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert BROWSER is not None
    shutil.copytree(ROOT / "manifests", tmp_path / "manifests")
    shutil.copy2(ROOT / "reconciler.yaml", tmp_path / "reconciler.yaml")
    monkeypatch.chdir(tmp_path)
    page = _preview(tmp_path, capsys)

    loaded = visit(BROWSER, page, tmp_path / "browser")
    assert loaded.console == []
    assert loaded.requests == []
    found = cards(loaded.dom)  # the DOM as the browser built it
    assert len(found) == 15
    assert [c.kind for c in found].count("sms") == 5
    written = {c.attrs["data-source"]: c.attrs for c in cards(page.read_text(encoding="utf-8"))}
    for card in found:
        assert card.attrs == written[card.attrs["data-source"]]
        if card.kind == "sms":
            segments = int(card.attrs["data-segments"])
            assert [c for c in card.classes if "segment" in c] == [["segment"]] * segments
    assert _TITLE.search(loaded.dom).group(1) == "reconciler preview"  # type: ignore[union-attr]

    shot = tmp_path / "preview.png"
    visit(BROWSER, page, tmp_path / "browser", screenshot=shot)
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(data) > 30_000  # a blank page of this size is a few kilobytes


HOSTILE_EMAIL = """<html><body>
<script>parent.document.title='pwned'; new Image().src='{url}/script-ran'</script>
<img src="{url}/remote.png" onerror="parent.document.title='pwned'">
<img/src="{url}/slash.png"><img alt="a>b" src="{url}/quoted.png"><img alt=""src="{url}/glued.png">
<a href="javascript:parent.document.title='pwned'">click</a>
<p style="background:url({url}/css.png)">Hi {{{{first_name}}}}</p></body></html>"""
HOSTILE_TEXT = (
    "<script>document.title='pwned'</script><img src=x onerror=\"document.title='pwned'\">"
)


def test_a_hostile_template_runs_and_loads_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert BROWSER is not None
    monkeypatch.chdir(tmp_path)
    with counting_server() as server:
        entries = [
            communication("START", 2, HOSTILE_EMAIL.format(url=server.url), subject=HOSTILE_TEXT),
            communication("FINISH", 1, HOSTILE_TEXT, sender="NW"),
            communication("CHANGE", 3, HOSTILE_TEXT, subject=HOSTILE_TEXT, sender="NW"),
        ]
        (tmp_path / "manifests").mkdir()
        (tmp_path / "manifests" / "x.yaml").write_text(manifest("hostile", 1, 1, entries))
        (tmp_path / "reconciler.yaml").write_text(
            "environments:\n  sandbox:\n    endpoint: sandbox\n"
            "    channels: {1: sms, 2: email, 3: push}\n"
        )
        page = _preview(tmp_path, capsys)
        loaded = visit(BROWSER, page, tmp_path / "browser")
        assert _TITLE.search(loaded.dom).group(1) == "reconciler preview"  # type: ignore[union-attr]
        assert loaded.requests == []
        assert server.hits == []
        # What the browser said: only that it refused to run the body's script.
        assert loaded.console
        assert all("Blocked script execution in 'about:srcdoc'" in m for m in loaded.console)
        written = page.read_text(encoding="utf-8")
        for image in ("remote", "slash", "quoted", "glued"):  # listed, not loaded
            assert f"<li><code>{server.url}/{image}.png</code></li>" in written

        # The control: the same page with the sandbox opened and the policies taken out. Only
        # the script's request arrives: every image, however its tag is written, was replaced.
        text = page.read_text(encoding="utf-8")
        text = text.replace('sandbox=""', 'sandbox="allow-scripts allow-same-origin"')
        text = re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", text)
        text = re.sub(r"&lt;meta http-equiv=&quot;Content-Security-Policy&quot;.*?&gt;", "", text)
        control = tmp_path / "control.html"
        control.write_text(text, encoding="utf-8")
        opened = visit(BROWSER, control, tmp_path / "browser")
        assert _TITLE.search(opened.dom).group(1) == "pwned"  # type: ignore[union-attr]
        assert f"{server.url}/script-ran" in opened.requests
        assert server.hits == ["/script-ran"]
