"""The applier over real HTTP: an upsert answer that a re-read confirms differs fails the target."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx

from reconciler.api import BasicCredentials, CapillaryClient, ClientSettings
from reconciler.applier.execute import Applier
from reconciler.config import select
from reconciler.live import Selection, make_run_plan
from tests.support import ROOT
from tests.support.cli import write_config


class CorruptingTransport(httpx.AsyncBaseTransport):
    """Real HTTP, except that the first element of every upsert is rewritten on its way, so the
    API stores (and answers, and shows on a re-read) another message than the one sent.

    Issue 14 item 5: before, this transport altered only the *answer*, and that alone failed the
    target. Now an answer that differs is judged by a re-read; only a difference the re-read
    confirms is an error, so the server side of the corruption is what this test needs."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "POST" and request.url.path.endswith("/upsert"):
            body = json.loads(request.read())
            body[0]["messageTemplate"] += " (rewritten by the server)"
            headers = {k: v for k, v in request.headers.items() if k.lower() != "content-length"}
            request = httpx.Request(
                "POST", request.url, headers=headers, content=json.dumps(body).encode()
            )
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


def test_an_upsert_answer_that_differs_from_what_was_sent_fails_the_target(
    sandbox: object, tmp_path: Path, monkeypatch: object
) -> None:
    import shutil

    repo = tmp_path / "repo"
    shutil.copytree(ROOT / "manifests", repo / "manifests")
    write_config(repo, sandbox.url)  # type: ignore[attr-defined]
    settings = select(repo / "reconciler.yaml", environ={})

    async def run() -> list[str]:
        client = CapillaryClient(
            ClientSettings(
                base_url=sandbox.url,  # type: ignore[attr-defined]
                credentials=BasicCredentials("demo", "demo-password"),
            ),
            transport=CorruptingTransport(),
        )
        async with client:
            planned = await make_run_plan(
                settings, Selection(paths=(str(repo / "manifests"),)), client, parallelism=4
            )
            result = await Applier(client).apply(planned)
        assert not result.ok
        return [f"{o.status}: {o.message}" for o in result.outcomes]

    outcomes = asyncio.run(run())
    assert len(outcomes) == 5  # 2402's declared duplicate is deactivated too (issue 14 item 7)
    assert all(line.startswith("failed: API returned an inconsistent result") for line in outcomes)
    assert all("messageTemplate differ from what was sent" in line for line in outcomes)
    assert all("(confirmed by a re-read)" in line for line in outcomes)
