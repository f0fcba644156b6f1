"""Issue 14 item 5 (SPEC §6): upsert answers are matched by id and key, never by position.

Each server here is real HTTP on loopback (``tests.support.fake_capillary``), misbehaving in
one way:
- it answers in another order, or with all of the target's rows: a committed write, a success;
- it normalises text (trailing whitespace, CRLF): one warning naming the field and the
  difference, exit 0, and the next apply sends nothing (the plan does not see it as a change);
- it stores something else than was sent, and a re-read confirms it: an error;
- only its answer differs, and a re-read shows what was sent: a success.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli import Run, write_config
from tests.support.fake_capillary import EMAIL, GROUP, SMS, TARGET, FakeCapillary, Row, row
from tests.support.manifests import communication, manifest

LIVE = [
    row(1, "START", EMAIL, "old start", subjectTemplate="Hi"),
    row(2, "FINISH", EMAIL, "finish", subjectTemplate="Bye"),
    row(3, "REMINDER", SMS, "undeclared reminder"),
]
WANTED = [
    communication("START", EMAIL, "new start", subject="Hi"),  # an update of id 1
    communication("FINISH", EMAIL, "finish", subject="Bye"),  # unchanged
    communication("CHANGE", SMS, "halfway"),  # a create
]  # and REMINDER on SMS (id 3) is pruned: a deactivation


def setup(repo: Path, url: str, entries: list[dict[str, object]] = WANTED) -> None:
    write_config(repo, url)
    (repo / "manifests" / "t.yaml").write_text(manifest("t", GROUP, TARGET, entries))


class Reversed(FakeCapillary):
    def upsert(self, group: int, target: int, body: list[Row]) -> list[Row]:
        return list(reversed(super().upsert(group, target, body)))


class AllRows(FakeCapillary):
    """Answers with every row of the target, sent or not, sorted by id."""

    def upsert(self, group: int, target: int, body: list[Row]) -> list[Row]:
        super().upsert(group, target, body)
        return self.read(group, target)


class AllRowsNewestFirst(AllRows):
    def upsert(self, group: int, target: int, body: list[Row]) -> list[Row]:
        return sorted(super().upsert(group, target, body), key=lambda r: -r["id"])


@pytest.mark.parametrize("server", [Reversed, AllRows, AllRowsNewestFirst])
def test_a_reordered_or_complete_answer_of_a_committed_write_is_a_success(
    repo: Path, cli: Run, server: type[FakeCapillary]
) -> None:
    api = server(LIVE)
    with api.serve() as url:
        setup(repo, url)
        code, out, err = cli("apply", "--auto-approve")
        assert code == 0, out + err
        assert "1 created, 1 updated, 1 deactivated" in out
        assert len(api.writes()) == 1
        assert len(api.writes()[0]) == 3
        assert api.active() == [("CHANGE", SMS), ("FINISH", EMAIL), ("START", EMAIL)]
        code, out, err = cli("apply", "--auto-approve")
        assert code == 0, out + err
        assert len(api.writes()) == 1  # converged: the second apply sends nothing


class Normalising(FakeCapillary):
    """Stores text with CRLF turned into LF and trailing whitespace removed."""

    def upsert(self, group: int, target: int, body: list[Row]) -> list[Row]:
        for element in body:
            for name in ("messageTemplate", "subjectTemplate", "sender"):
                element[name] = element[name].replace("\r\n", "\n").rstrip()
        return super().upsert(group, target, body)


def test_a_server_that_normalises_text_is_reported_once_and_converges(repo: Path, cli: Run) -> None:
    entries = [
        communication("START", EMAIL, "Hello there  \n", subject="Hi"),
        communication("FINISH", EMAIL, "Bye now\t", subject="Bye"),
        communication("CHANGE", SMS, "line one\r\nline two"),
    ]
    api = Normalising()
    with api.serve() as url:
        setup(repo, url, entries)
        code, out, err = cli("apply", "--auto-approve", "--report", "report.json")
        assert code == 0, out + err
        assert "inconsistent" not in out + err
        (reported,) = json.loads((repo / "report.json").read_text())["targets"]
        assert reported["outcome"] == "applied"
        stored = "the API stored messageTemplate with trailing whitespace removed"
        assert stored in reported["warnings"]
        trailing = re.findall(r"warning: .*messageTemplate with trailing whitespace removed.*", err)
        assert len(trailing) == 1, err  # once, although two communications were normalised
        assert "CRLF line endings converted to LF" in err
        assert [r["messageTemplate"] for r in api.rows] == [
            "Hello there",
            "Bye now",
            "line one\nline two",
        ]

        # The next runs see no change: the live text is what this server makes of the manifest.
        code, out, err = cli("plan", "--detailed-exitcode")
        assert code == 0, out + err
        assert "No changes" in out
        assert "trailing whitespace removed" in out  # the plan says why, as a warning
        code, out, err = cli("apply", "--auto-approve")
        assert code == 0, out + err
        assert len(api.writes()) == 1


class NormalisingAndLosingTheFirstAnswer(Normalising):
    """Commits the first upsert, then answers it with a 500 (an ambiguous write)."""

    def answer(self, method: str, path: str, body: Any) -> tuple[int, Any]:
        status, data = super().answer(method, path, body)
        if method == "POST" and len(self.writes()) == 1:
            return 500, None
        return status, data


def test_recovery_from_an_ambiguous_write_accepts_the_servers_normalisation(
    repo: Path, cli: Run
) -> None:
    """Recovery compares the re-read with the plan as the post-write check does: a normalised
    text landed; resending it would be normalised again, round after round."""
    api = NormalisingAndLosingTheFirstAnswer(LIVE)
    entries = [communication("START", EMAIL, "new start  ", subject="Hi"), *WANTED[1:]]
    with api.serve() as url:
        setup(repo, url, entries)
        code, out, err = cli("apply", "--auto-approve")
        assert code == 0, out + err
        assert "recovered after ambiguous write" in out
        assert len(api.writes()) == 1  # nothing was resent
        assert cli("plan", "--detailed-exitcode")[0] == 0


class Rewriting(FakeCapillary):
    """Stores a different message than the one sent (and says so in the answer)."""

    def upsert(self, group: int, target: int, body: list[Row]) -> list[Row]:
        for element in body:
            element["messageTemplate"] += " (edited by the server)"
        return super().upsert(group, target, body)


def test_a_real_difference_that_a_reread_confirms_is_an_error(repo: Path, cli: Run) -> None:
    api = Rewriting(LIVE)
    with api.serve() as url:
        setup(repo, url)
        code, out, err = cli("apply", "--auto-approve")
    assert code == 1, out + err
    assert "API returned an inconsistent result" in out
    assert "messageTemplate" in out
    assert "re-read" in out


class AnswerOnlyDiffers(FakeCapillary):
    """Stores what was sent, but its answer shows another message."""

    def upsert(self, group: int, target: int, body: list[Row]) -> list[Row]:
        answer = super().upsert(group, target, body)
        for stored in answer:
            stored["messageTemplate"] = "something else"
        return answer


def test_an_answer_that_differs_while_a_reread_shows_what_was_sent_is_a_success(
    repo: Path, cli: Run
) -> None:
    api = AnswerOnlyDiffers(LIVE)
    with api.serve() as url:
        setup(repo, url)
        code, out, err = cli("apply", "--auto-approve")
        assert code == 0, out + err
        gets = [p for m, p, _ in api.requests if m == "GET" and p.endswith("/communications")]
        assert len(gets) == 2  # the plan's read, and the re-read that judged the answer
        code, out, err = cli("plan", "--detailed-exitcode")
        assert code == 0, out + err
