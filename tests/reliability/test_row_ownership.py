"""Issue 14 item 4 (SPEC §4, §6): ownership is checked on every row of every answer.

- A read carrying a row of another target makes that target unreadable: nothing planned for
  it, nothing pruned, exit 1; the other targets plan as usual. A row without
  ``targetId``/``targetGroupId`` is tolerated (there is nothing to contradict).
- An upsert answer carrying a row of another target, or answering a create with the id of
  another live row, is "API returned an inconsistent result" for that target, exit 1.
- The failing example: a server keyed on ``communicationType`` alone overwrites START on EMAIL
  with START on SMS. It is caught on the first apply, not reported as a success.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.conftest import SandboxFactory
from tests.support.cli import Run, write_config
from tests.support.fake_capillary import EMAIL, GROUP, SMS, TARGET, FakeCapillary, Row, row
from tests.support.manifests import communication, manifest
from tests.support.sandbox import comms, writes
from tests.support.servers import Answer, Proxy, Seen

ROOT = Path(__file__).resolve().parents[2]
START_EMAIL = communication("START", EMAIL, "Welcome by email", subject="Hi")
START_SMS = communication("START", SMS, "Welcome by SMS")


class KeyedOnTypeAlone(FakeCapillary):
    """An upsert that matches rows by communicationType only, ignoring channelId and id-less
    inserts: the second channel of a type overwrites the first."""

    def upsert(self, group: int, target: int, body: list[Row]) -> list[Row]:
        answer = []
        for element in body:
            same_type = [
                r for r in self.rows if r["communicationType"] == element["communicationType"]
            ]
            id_ = element.get("id") or (same_type[0]["id"] if same_type else None)
            answer.append(self.store(group, target, element, id_))
        return answer


def one_target_repo(
    repo: Path, url: str, entries: list[dict[str, object]], prune: bool = True
) -> None:
    write_config(repo, url)
    (repo / "manifests" / "t.yaml").write_text(manifest("t", GROUP, TARGET, entries, prune=prune))


@pytest.mark.parametrize("prune", [True, False])
def test_a_server_keyed_on_type_alone_is_caught_on_the_first_apply(
    repo: Path, cli: Run, prune: bool
) -> None:
    api = KeyedOnTypeAlone([row(1, "START", EMAIL, "Welcome by email", subjectTemplate="Hi")])
    with api.serve() as url:
        one_target_repo(repo, url, [START_EMAIL, START_SMS], prune=prune)

        code, out, err = cli("apply", "--auto-approve")

        assert code == 1, out + err
        assert "API returned an inconsistent result" in out
        assert "id 1" in out
        assert "START on EMAIL" in out
        assert len(api.writes()) == 1  # one create was sent; the server overwrote id 1 with it

        # The next apply does not report success either: it fails the same way, every time.
        code, out, err = cli("apply", "--auto-approve")
        assert code == 1, out + err
        assert "API returned an inconsistent result" in out


def test_a_create_answered_with_the_id_of_a_live_row_the_plan_does_not_touch_is_caught(
    repo: Path, cli: Run
) -> None:
    """START on EMAIL is not declared and prune is off: the plan never names id 1, but the
    read it was planned against does."""
    api = KeyedOnTypeAlone([row(1, "START", EMAIL, "Welcome by email")])
    with api.serve() as url:
        one_target_repo(repo, url, [START_SMS], prune=False)
        code, out, err = cli("apply", "--auto-approve")
    assert code == 1, out + err
    assert "API returned an inconsistent result" in out
    assert "id 1" in out


class AnswersWithForeignRow(FakeCapillary):
    def upsert(self, group: int, target: int, body: list[Row]) -> list[Row]:
        answer = super().upsert(group, target, body)
        answer[0]["targetId"] = TARGET + 1
        return answer


def test_an_upsert_answer_with_a_row_of_another_target_is_inconsistent(
    repo: Path, cli: Run
) -> None:
    api = AnswersWithForeignRow()
    with api.serve() as url:
        one_target_repo(repo, url, [START_EMAIL])
        code, out, err = cli("apply", "--auto-approve")
    assert code == 1, out + err
    assert "API returned an inconsistent result" in out
    assert f"target {TARGET + 1}" in out


class ReadsWithoutOwner(FakeCapillary):
    def read(self, group: int, target: int) -> list[Row]:
        rows = super().read(group, target)
        for r in rows:
            del r["targetId"], r["targetGroupId"]
        return rows


def test_rows_without_target_ids_are_tolerated(repo: Path, cli: Run) -> None:
    api = ReadsWithoutOwner([row(1, "START", EMAIL, "Welcome by email", subjectTemplate="Hi")])
    with api.serve() as url:
        one_target_repo(repo, url, [START_EMAIL])
        code, out, err = cli("plan", "--detailed-exitcode")
    assert code == 0, out + err
    assert "No changes" in out


# --- reads carrying rows of another target, through a proxy in front of the sandbox ----------

FOREIGN = (2163, 2318)  # a demo target with changes to plan and an undeclared row to prune


@pytest.fixture
def demo_repo(repo: Path) -> Path:
    shutil.rmtree(repo / "manifests")
    shutil.copytree(ROOT / "manifests", repo / "manifests")
    return repo


@pytest.mark.parametrize(("field", "value"), [("targetId", 2317), ("targetGroupId", 2170)])
def test_a_read_with_a_row_of_another_target_makes_that_target_unreadable(
    demo_repo: Path, sandbox_factory: SandboxFactory, cli: Run, field: str, value: int
) -> None:
    server = sandbox_factory()
    path = comms(*FOREIGN)

    def rule(seen: Seen, n: int) -> Answer | None:
        if seen.method != "GET" or seen.path != path:
            return None
        live = server.store.communications(*FOREIGN)
        live[-1][field] = value  # type: ignore[literal-required]
        body = json.dumps({"data": live, "errors": None, "warnings": None}).encode()
        return Answer(200, body, {"content-type": "application/json"})

    with Proxy(server.url, rule) as proxy:
        write_config(demo_repo, proxy.url)
        code, out, err = cli("plan", "--format", "json")
        assert code == 1, err
        document = json.loads(out)
        targets = {(t["targetGroupId"], t["targetId"]): t for t in document["targets"]}
        assert targets[FOREIGN]["readable"] is False
        assert targets[FOREIGN]["changes"] == []
        assert "not to the target asked about" in targets[FOREIGN]["error"]
        assert all(t["readable"] for ref, t in targets.items() if ref != FOREIGN)
        assert "could not be read" in err

        server.store.clear_request_log()
        code, out, err = cli("apply", "--auto-approve")
        assert code == 1, err
        written = {r.path for r in writes(server.store.request_log())}
        assert written  # the other targets were applied
        assert path + "/upsert" not in written
