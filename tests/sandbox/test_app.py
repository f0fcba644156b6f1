"""Every read endpoint of SPEC §2 over real HTTP: success shapes and error envelopes."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from reconciler.sandbox import SandboxServer
from tests.support.sandbox import assert_error, comms, element, upsert


def ok(response: httpx.Response) -> Any:
    """The ``data`` of a success envelope (and nothing else in it)."""
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    document = response.json()
    assert document.keys() == {"data", "errors", "warnings"}
    assert document["errors"] is None
    assert document["warnings"] is None
    return document["data"]


def test_channels_are_those_of_the_documentation(client: httpx.Client) -> None:
    assert ok(client.get("/v3/targetGroups/channels")) == [
        {"id": 1, "name": "SMS"},
        {"id": 2, "name": "EMAIL"},
        {"id": 3, "name": "MOBILE PUSH"},
    ]


def test_target_groups_list_the_demo_programme(client: httpx.Client) -> None:
    groups = ok(client.get("/v3/targetGroups"))
    assert isinstance(groups, list)
    assert [(g["id"], g["name"]) for g in groups] == [
        (2163, "Spring Sprint 2026"),
        (2170, "Summer Streak"),
        (2185, "Anniversary Club"),
    ]
    first = groups[0]
    assert {"id", "name", "description", "active", "fromDate", "toDate", "attribution"} <= set(
        first
    )
    assert first["active"] is True
    assert first["attribution"]["createdOnISO"] == "2026-02-02T10:15:00.000+00:00"


def test_only_active_groups_on_request(sandbox: SandboxServer, client: httpx.Client) -> None:
    sandbox.store.add_group(2199, "Winter Wonderland", active=False)
    every = [g["id"] for g in ok(client.get("/v3/targetGroups"))]
    active = ok(client.get("/v3/targetGroups", params={"includeOnlyActive": "true"}))
    assert 2199 in every
    assert [g["id"] for g in active] == [2163, 2170, 2185]


def test_one_target_group_is_an_object(client: httpx.Client) -> None:
    group = ok(client.get("/v3/targetGroups/2170"))
    assert isinstance(group, dict)
    assert (group["id"], group["name"], group["active"]) == (2170, "Summer Streak", True)


def test_unknown_target_group_is_a_404_envelope(client: httpx.Client) -> None:
    assert_error(client.get("/v3/targetGroups/999"), 404, 310017, "target group 999 not found")
    assert_error(client.get("/v3/targetGroups/999/targets"), 404, 310017)


@pytest.mark.parametrize(
    ("path", "fragment"),
    [
        ("/v3/targetGroups/abc", "path parameter targetGroupId"),
        ("/v3/targetGroups/0/targets", "greater than or equal to 1"),
        ("/v3/targetGroups/99999999999999999999/targets", "path parameter targetGroupId"),
        ("/v3/targetGroups/2163/targets/x/communications", "path parameter targetId"),
        ("/v3/targetGroups?includeOnlyActive=perhaps", "query parameter includeOnlyActive"),
    ],
)
def test_malformed_ids_and_flags_are_400(client: httpx.Client, path: str, fragment: str) -> None:
    assert_error(client.get(path), 400, 300004, fragment)


def test_targets_of_a_group(client: httpx.Client) -> None:
    targets = ok(client.get("/v3/targetGroups/2163/targets"))
    assert isinstance(targets, list)
    assert [(t["id"], t["name"], t["targetGroupId"]) for t in targets] == [
        (2317, "Spend 500 in April", 2163),
        (2318, "Five Store Visits", 2163),
        (2319, "Refer Three Friends", 2163),
    ]
    assert all(t["active"] is True for t in targets)


def test_communications_of_a_target_include_inactive_ones(client: httpx.Client) -> None:
    found = ok(client.get(comms(2163, 2318)))
    assert isinstance(found, list)
    assert [(c["id"], c["communicationType"], c["active"]) for c in found] == [
        (5111, "START", True),
        (5112, "FINISH", False),
        (5113, "REMINDER", True),
    ]
    first = found[0]
    assert list(first) == [
        "id",
        "attribution",
        "targetId",
        "targetGroupId",
        "communicationType",
        "channelId",
        "subjectTemplate",
        "messageTemplate",
        "sender",
        "offsetDays",
        "active",
        "configs",  # the GET's extra field (capillary-api.md, E2): clients must ignore it
    ]
    assert first["configs"] == []
    assert set(first["attribution"]) == {"createdOn", "lastUpdatedOn", "createdBy", "lastUpdatedBy"}
    assert first["attribution"]["createdBy"]["code"] == "tj_capillary"


def test_a_target_without_communications_is_an_empty_list(client: httpx.Client) -> None:
    assert ok(client.get(comms(2163, 2319))) == []


@pytest.mark.parametrize(
    ("group", "target", "code", "fragment"),
    [
        (2163, 9999, 310018, "target 9999 not found in target group 2163"),
        (2170, 2317, 310018, "target 2317 not found in target group 2170"),  # wrong group
        (9999, 2317, 310017, "target group 9999 not found"),
    ],
)
def test_unknown_target_is_a_404_envelope(
    client: httpx.Client, group: int, target: int, code: int, fragment: str
) -> None:
    assert_error(client.get(comms(group, target)), 404, code, fragment)
    assert_error(client.post(upsert(group, target), json=[element()]), 404, code, fragment)


def test_unknown_route_and_method_answer_the_envelope(client: httpx.Client) -> None:
    assert_error(client.get("/v3/targetGroups/2163/periods/1"), 404, 404)
    assert_error(client.get("/v3/targetGroups/"), 404, 404)  # never a redirect to follow
    assert_error(client.delete("/v3/targetGroups/2163"), 405, 405)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v3/targetGroups"),
        ("GET", "/v3/targetGroups/channels"),
        ("GET", "/v3/targetGroups/2163"),
        ("GET", "/v3/targetGroups/2163/targets"),
        ("GET", comms()),
        ("POST", upsert()),
        ("GET", "/v3/no/such/route"),  # authentication comes before routing, as at a gateway
    ],
)
def test_every_endpoint_requires_credentials(
    sandbox: SandboxServer, method: str, path: str
) -> None:
    response = httpx.request(method, f"{sandbox.url}{path}", json=[element()])
    assert_error(response, 401, 401, "authentication required")
    assert sandbox.store.request_log()[-1].actor is None


def test_every_request_is_logged_with_its_actor(
    sandbox: SandboxServer, client: httpx.Client
) -> None:
    client.get("/v3/targetGroups/channels")
    client.get(comms(9999, 1))
    client.post(upsert(2163, 2319), json=[element()])
    log = sandbox.store.request_log()
    assert [(r.method, r.path, r.status, r.committed, r.actor) for r in log] == [
        ("GET", "/v3/targetGroups/channels", 200, False, "demo"),
        ("GET", comms(9999, 1), 404, False, "demo"),
        ("POST", upsert(2163, 2319), 200, True, "demo"),
    ]
    assert [r.seq for r in log] == sorted(r.seq for r in log)
    assert [r.is_write for r in log] == [False, False, True]
    sandbox.store.clear_request_log()
    assert sandbox.store.request_log() == []


def test_the_documentation_pages_are_not_the_api(sandbox: SandboxServer) -> None:
    assert httpx.get(f"{sandbox.url}/openapi.json").status_code == 200  # no credentials needed
    assert sandbox.store.request_log() == []  # and not counted as API requests
