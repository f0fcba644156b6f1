"""The baseline: the script a user would write instead of reconciler (issue 9).

For every communication in the manifests, one after another with a synchronous httpx client:
GET the target's communications, find the one with the same type and channel, and POST an
upsert of that one communication (with its id when it exists). No diff, no concurrency.

Usage: python benchmarks/naive_sync.py ROOT [--url http://127.0.0.1:PORT]
ROOT holds reconciler.yaml's ``manifests/``; without ``--url`` the running sandbox is found
through ``ROOT/.reconciler/sandbox.json``. Credentials: CAPILLARY_USERNAME/CAPILLARY_PASSWORD
(default: the sandbox demo user).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import time
from pathlib import Path
from typing import Any

import httpx
from ruamel.yaml import YAML


def basic_header(username: str, password: str) -> str:
    digest = hashlib.md5(password.encode()).hexdigest()
    return "Basic " + base64.b64encode(f"{username}:{digest}".encode()).decode()


def communications(root: Path) -> list[tuple[int, int, dict[str, Any]]]:
    """(group id, target id, communication) for every communication in every manifest."""
    yaml = YAML(typ="safe")
    found = []
    for path in sorted((root / "manifests").rglob("*.yaml")):
        for document in yaml.load_all(path.read_text()):
            target = document["target"]
            for communication in document["communications"]:
                found.append((target["targetGroup"], target["target"], communication))
    return found


def sync(url: str, root: Path, username: str, password: str) -> int:
    """Upsert every communication of the manifests; returns the number of requests sent."""
    headers = {
        "Authorization": basic_header(username, password),
        "Content-Type": "application/json",
    }
    sent = 0
    with httpx.Client(base_url=url, headers=headers, timeout=30) as client:
        response = client.get("/v3/targetGroups/channels")
        sent += 1
        response.raise_for_status()
        channel_ids = {c["name"]: c["id"] for c in response.json()["data"]}
        for group, target, wanted in communications(root):
            path = f"/v3/targetGroups/{group}/targets/{target}/communications"
            channel = wanted.get("channelId") or channel_ids[wanted["channel"]]
            response = client.get(path)
            sent += 1
            response.raise_for_status()
            live = [
                c
                for c in response.json()["data"]
                if c["communicationType"] == wanted["communicationType"]
                and c["channelId"] == channel
            ]
            body: dict[str, Any] = {
                "active": wanted.get("active", True),
                "channelId": channel,
                "communicationType": wanted["communicationType"],
                "messageTemplate": wanted["messageTemplate"],
                "offsetDays": wanted.get("offsetDays", 0),
                "sender": wanted["sender"],
                "subjectTemplate": wanted.get("subjectTemplate", ""),
            }
            if live:
                body["id"] = live[-1]["id"]
            response = client.post(f"{path}/upsert", content=json.dumps([body]))
            sent += 1
            response.raise_for_status()
    return sent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("root", type=Path)
    parser.add_argument("--url", default=None)
    args = parser.parse_args()
    url = args.url
    if url is None:
        url = json.loads((args.root / ".reconciler" / "sandbox.json").read_text())["url"]
    username = os.environ.get("CAPILLARY_USERNAME", "demo")
    password = os.environ.get("CAPILLARY_PASSWORD", "demo-password")
    started = time.perf_counter()
    sent = sync(url, args.root, username, password)
    print(f"naive sync: {sent} requests in {time.perf_counter() - started:.2f} s")


if __name__ == "__main__":
    main()
