"""A minimal, independent HTTP/1.1 implementation of the API's read and upsert endpoints.

No framework and nothing of reconciler: ``asyncio.start_server``, a hand-written request
parser, keep-alive, and ``--latency-ms`` of added latency per answer. It serves the data of
``DATA`` (a JSON file that ``floor.py`` exports from a seeded sandbox: the group list, the
channel list, each group's targets and each target's communications) and applies upserts to
it in memory. Every request is accepted whatever its credentials. It prints its URL on the
first line of its output and serves until killed.

Usage: python benchmarks/plain_server.py DATA [--latency-ms 50] [--port 0]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
from pathlib import Path
from typing import Any

_COMMUNICATIONS = re.compile(r"/v3/targetGroups/(\d+)/targets/(\d+)/communications(/upsert)?")
_TARGETS = re.compile(r"/v3/targetGroups/(\d+)/targets")


class Api:
    def __init__(self, data: dict[str, Any]) -> None:
        self.static: dict[str, bytes] = {
            "/v3/targetGroups": _envelope(data["groups"]),
            "/v3/targetGroups/channels": _envelope(data["channels"]),
        }
        for group, targets in data["targets"].items():
            self.static[f"/v3/targetGroups/{group}/targets"] = _envelope(targets)
        self.rows: dict[tuple[int, int], list[dict[str, Any]]] = {}
        self.bodies: dict[tuple[int, int], bytes] = {}
        for key, rows in data["communications"].items():
            group, target = (int(part) for part in key.split("/"))
            self.rows[group, target] = rows
            self.bodies[group, target] = _envelope(rows)
        self.next_id = 1 + max((r["id"] for rows in self.rows.values() for r in rows), default=0)

    def answer(self, method: str, path: str, body: bytes) -> tuple[int, bytes]:
        if method == "GET" and path in self.static:
            return 200, self.static[path]
        found = _COMMUNICATIONS.fullmatch(path)
        if found is None:
            return 404, _envelope(None, [{"code": 404, "message": "not found"}])
        key = (int(found[1]), int(found[2]))
        if key not in self.rows:
            return 404, _envelope(None, [{"code": 404, "message": "no such target"}])
        if method == "GET" and not found[3]:
            return 200, self.bodies[key]
        if method == "POST" and found[3]:
            return 200, _envelope(self.upsert(key, json.loads(body)))
        return 405, _envelope(None, [{"code": 405, "message": "method not allowed"}])

    def upsert(self, key: tuple[int, int], writes: Any) -> list[dict[str, Any]]:
        rows = self.rows[key]
        stored = []
        for write in writes if isinstance(writes, list) else [writes]:
            row = next((r for r in rows if r["id"] == write.get("id")), None)
            if row is None:
                row = {"id": self.next_id, "targetGroupId": key[0], "targetId": key[1]}
                self.next_id += 1
                rows.append(row)
            row.update(write)
            stored.append(row)
        self.bodies[key] = _envelope(rows)
        return stored


def _envelope(data: object, errors: object = None) -> bytes:
    return json.dumps({"data": data, "errors": errors, "warnings": None}).encode()


_REASONS = {200: "OK", 404: "Not Found", 405: "Method Not Allowed"}


async def serve(api: Api, port: int, latency: float) -> None:
    async def connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, target, _ = lines[0].split(" ", 2)
                length = 0
                for line in lines[1:]:
                    name, _, value = line.partition(":")
                    if name.strip().lower() == "content-length":
                        length = int(value)
                body = await reader.readexactly(length) if length else b""
                status, payload = api.answer(method, target.split("?", 1)[0], body)
                if latency:
                    await asyncio.sleep(latency)
                writer.write(
                    f"HTTP/1.1 {status} {_REASONS[status]}\r\nContent-Type: application/json"
                    f"\r\nContent-Length: {len(payload)}\r\n\r\n".encode()
                    + payload
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(connection, "127.0.0.1", port, backlog=256)
    bound = server.sockets[0].getsockname()[1]
    print(f"http://127.0.0.1:{bound}", flush=True)
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("data", type=Path)
    parser.add_argument("--latency-ms", type=float, default=50)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    api = Api(json.loads(args.data.read_text()))
    try:
        asyncio.run(serve(api, args.port, args.latency_ms / 1000))
    except KeyboardInterrupt:
        sys.exit(0)


if __name__ == "__main__":
    main()
