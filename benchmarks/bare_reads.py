"""The floor of the test setup: read every target of a workload with nothing but httpx.

One GET per target with ``--parallelism`` requests in flight and no parsing beyond
``response.json()``: how fast this machine's sandbox server and loopback allow the reads of a
plan to go. ``run.py`` compares the reads of ``reconciler plan`` with it.

Usage: python benchmarks/bare_reads.py ROOT [--parallelism 16]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import json
import time
from pathlib import Path

import httpx
from naive_sync import communications


async def read_all(url: str, refs: list[tuple[int, int]], parallelism: int) -> None:
    digest = hashlib.md5(b"demo-password").hexdigest()
    auth = "Basic " + base64.b64encode(f"demo:{digest}".encode()).decode()
    gate = asyncio.Semaphore(parallelism)
    limits = httpx.Limits(max_connections=parallelism, max_keepalive_connections=parallelism)
    async with httpx.AsyncClient(
        base_url=url, headers={"Authorization": auth}, limits=limits
    ) as client:

        async def one(group: int, target: int) -> None:
            async with gate:
                path = f"/v3/targetGroups/{group}/targets/{target}/communications"
                response = await client.get(path)
                response.raise_for_status()
                response.json()

        await asyncio.gather(*(one(*ref) for ref in refs))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("root", type=Path)
    parser.add_argument("--parallelism", type=int, default=16)
    args = parser.parse_args()
    url = json.loads((args.root / ".reconciler" / "sandbox.json").read_text())["url"]
    refs = sorted({(group, target) for group, target, _ in communications(args.root)})
    started = time.perf_counter()
    asyncio.run(read_all(url, refs, args.parallelism))
    print(f"bare reads: {len(refs)} targets in {time.perf_counter() - started:.2f} s")


if __name__ == "__main__":
    main()
