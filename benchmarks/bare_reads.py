"""The floor of the test setup: read every target of a workload with nothing but httpx.

One GET per target with ``--parallelism`` requests in flight and no parsing beyond
``response.json()``: how fast this machine's server and loopback allow the reads of a plan to
go. ``run.py`` compares ``reconciler plan`` with it. With ``--writes FILE`` (a JSON list of
``{"group", "target", "communicationType", "channelId", "fields"}``) it then upserts each
of those communications, with the id its read found, as ``apply`` would.

Usage: python benchmarks/bare_reads.py ROOT [--parallelism 16] [--url URL] [--writes FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import json
import time
from pathlib import Path
from typing import Any

import httpx
from naive_sync import communications


async def read_all(
    url: str, refs: list[tuple[int, int]], parallelism: int, writes: list[dict[str, Any]]
) -> None:
    digest = hashlib.md5(b"demo-password").hexdigest()
    auth = "Basic " + base64.b64encode(f"demo:{digest}".encode()).decode()
    gate = asyncio.Semaphore(parallelism)
    limits = httpx.Limits(max_connections=parallelism, max_keepalive_connections=parallelism)
    async with httpx.AsyncClient(
        base_url=url, headers={"Authorization": auth}, limits=limits
    ) as client:
        live: dict[tuple[int, int], list[dict[str, Any]]] = {}

        async def one(group: int, target: int) -> None:
            async with gate:
                path = f"/v3/targetGroups/{group}/targets/{target}/communications"
                response = await client.get(path)
                response.raise_for_status()
                live[group, target] = response.json()["data"]

        async def write(change: dict[str, Any]) -> None:
            key = (change["group"], change["target"])
            body = dict(change["fields"])
            for row in live[key]:
                if (row["communicationType"], row["channelId"]) == (
                    change["communicationType"],
                    change["channelId"],
                ):
                    body["id"] = row["id"]
            async with gate:
                path = f"/v3/targetGroups/{key[0]}/targets/{key[1]}/communications/upsert"
                response = await client.post(
                    path, content=json.dumps([body]), headers={"Content-Type": "application/json"}
                )
                response.raise_for_status()
                response.json()

        await asyncio.gather(*(one(*ref) for ref in refs))
        await asyncio.gather(*(write(change) for change in writes))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("root", type=Path)
    parser.add_argument("--parallelism", type=int, default=16)
    parser.add_argument("--url", default=None, help="default: the running sandbox of ROOT")
    parser.add_argument("--writes", type=Path, default=None)
    parser.add_argument(
        "--refs",
        type=Path,
        default=None,
        help="a JSON list of [group, target] to read instead "
        "of the manifests' targets (then this loop parses no YAML: httpx alone)",
    )
    args = parser.parse_args()
    url = args.url or json.loads((args.root / ".reconciler" / "sandbox.json").read_text())["url"]
    if args.refs is not None:
        refs = sorted((group, target) for group, target in json.loads(args.refs.read_text()))
    else:
        refs = sorted({(group, target) for group, target, _ in communications(args.root)})
    writes = json.loads(args.writes.read_text()) if args.writes else []
    started = time.perf_counter()
    asyncio.run(read_all(url, refs, args.parallelism, writes))
    print(f"bare reads: {len(refs)} targets in {time.perf_counter() - started:.2f} s")


if __name__ == "__main__":
    main()
