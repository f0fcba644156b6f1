"""One owner per rule (issue 15): a duplicate communication key and a duplicate target give one
line with one wording, whether they reach ``validate``, ``plan`` or the library API.

Reading owns what is written twice (``validate`` needs no network); resolving owns two different
references to one object, which only the API's lists can reveal, and says it in the same words.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from reconciler.cli import main
from reconciler.config import select
from reconciler.errors import ValidationFailed
from reconciler.live import Selection, make_run_plan
from reconciler.manifests import ManifestLoader
from reconciler.resolve import Resolver
from reconciler.session import open_client
from tests.support.cli import PASSWORD, USERNAME, write_config


def _doc(name: str, target: int | str, *entries: str) -> str:
    lines = [
        "apiVersion: reconciler/v1",
        "kind: TargetCommunications",
        f"metadata: {{name: {name}}}",
        f"target: {{targetGroup: 2163, target: {target!r}}}",
        "communications:",
    ]
    return (
        "\n".join(
            lines
            + [
                f"  - {{{e}, sender: a@example.com, subjectTemplate: Hi, messageTemplate: hi}}"
                for e in entries
            ]
        )
        + "\n"
    )


START_EMAIL = "communicationType: START, channel: EMAIL"
START_2 = "communicationType: START, channelId: 2"  # EMAIL's id in the sandbox
FINISH_EMAIL = "communicationType: FINISH, channel: EMAIL"
DUP = "manifests/dup.yaml"

# case -> (the manifest, the one problem, whether reading alone can see it)
CASES = {
    "key written twice": (
        _doc("a", 2317, START_EMAIL, START_EMAIL),
        f"{DUP}:7:5: duplicate communication START on channel EMAIL (also entry 1 of this "
        "target); one per type per channel",
        True,
    ),
    "key by name and by id": (
        _doc("a", 2317, START_EMAIL, START_2),
        f"{DUP}:7:5: duplicate communication START on channel EMAIL (id 2) (also entry 1 of "
        "this target); one per type per channel",
        False,
    ),
    "target written twice": (
        _doc("a", 2317, START_EMAIL) + "---\n" + _doc("b", 2317, FINISH_EMAIL),
        f"{DUP}:11:9: target 2317 of group 2163 is already declared by 'a' at {DUP}:4:9",
        True,
    ),
    "target named twice": (
        _doc("a", "Spend 500 in April", START_EMAIL)
        + "---\n"
        + _doc("b", "Spend 500 in April", FINISH_EMAIL),
        f"{DUP}:11:9: target 'Spend 500 in April' of group 2163 is already declared by 'a' at "
        f"{DUP}:4:9",
        True,
    ),
    "target by name and by id": (
        _doc("a", "Spend 500 in April", START_EMAIL) + "---\n" + _doc("b", 2317, FINISH_EMAIL),
        f"{DUP}:11:9: target 2317 of group 2163 is already declared by 'a' at {DUP}:4:9",
        False,
    ),
}


@pytest.fixture
def repo(tmp_path: Path, sandbox: object, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "manifests").mkdir()
    write_config(tmp_path, sandbox.url)  # type: ignore[attr-defined]
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CAPILLARY_USERNAME", USERNAME)
    monkeypatch.setenv("CAPILLARY_PASSWORD", PASSWORD)
    return tmp_path


def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[str]]:
    code = main(list(argv))
    return code, capsys.readouterr().err.splitlines()


async def _library(paths: list[str]) -> tuple[list[str], list[str], list[str]]:
    """As a library user: load (and ask the loader for its problems), plan, and resolve the
    loaded documents with a Resolver of one's own."""
    settings = select()
    loader = ManifestLoader(paths, variables=settings.env.vars, root=settings.root)
    documents = [doc for batch in loader for doc in batch]
    loaded = [d.render() for d in loader.finish()]
    planned: list[str] = []
    resolved: list[str] = []
    async with open_client(settings) as client:
        try:
            await make_run_plan(settings, Selection(paths=tuple(paths)), client, parallelism=2)
        except ValidationFailed as exc:
            planned = exc.lines()
        resolver = Resolver(client)
        try:
            await resolver.resolve(documents)
            resolver.check()
        except ValidationFailed as exc:
            resolved = exc.lines()
        finally:
            await resolver.close()
    return loaded, planned, resolved


@pytest.mark.parametrize("case", sorted(CASES))
def test_one_rule_one_message_through_validate_plan_and_the_library(
    case: str, repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text, problem, offline = CASES[case]
    (repo / DUP).write_text(text)

    code, err = _cli(capsys, "validate", DUP)
    if offline:
        assert (code, err) == (1, [f"error: {problem}", "1 problem found"])
    else:  # two references to one object: only the API's lists can tell
        assert (code, err) == (0, [])

    assert _cli(capsys, "plan", DUP) == (1, [f"error: {problem}"])

    loaded, planned, resolved = asyncio.run(_library([DUP]))
    assert planned == [problem]
    # Each case has one owner: reading for what is written twice, resolving for the rest.
    assert (loaded, resolved) == (([problem], []) if offline else ([], [problem]))
