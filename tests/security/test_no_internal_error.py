"""Odd input is a one-line ``error:``, never an "internal error" (issue 14 item 12).

IDNA and other malformed endpoint host names, non-finite or out-of-range numbers in
reconciler.yaml, saved plans that are deeply nested, huge, not UTF-8 or not an object, and
output paths in missing directories. Each is exit 1 with one ``error:`` line and no traceback;
the config loader and the saved-plan loader are fuzzed for "nothing but ReconcilerError".
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import shutil
import socket
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler.api.endpoints import CapillaryClient
from reconciler.api.settings import check_endpoint
from reconciler.api.wire import Communication
from reconciler.config import select
from reconciler.desired import DesiredCommunication, DesiredTarget, Source
from reconciler.errors import ConfigError, ReconcilerError
from reconciler.plan import Plan, PlanFileError
from reconciler.planner import make_plan
from reconciler.session import client_settings
from tests.support.cli import Run

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The demo manifests in an empty repository; the environment is the in-process sandbox."""
    shutil.copytree(ROOT / "manifests", tmp_path / "manifests")
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def lookups(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Every DNS lookup tried (the loopback guard of conftest only sees connects)."""
    seen: list[object] = []

    def refuse(host: object, *args: object, **kwargs: object) -> object:
        seen.append(host)
        raise OSError("tests do no DNS lookups")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    return seen


def one_error_line(code: int, err: str) -> str:
    assert code == 1, err
    assert "internal error" not in err
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ")
    return lines[0]


def write_config(repo: Path, environment: str, **values: str) -> None:
    lines = ["defaultEnvironment: e", "environments:", "  e:", *environment.splitlines()]
    lines += [f"    {key}: {value}" for key, value in values.items()]
    lines.append("    vars: {sender: loyalty@northwind.example}")
    (repo / "reconciler.yaml").write_text("\n".join(lines) + "\n")


# -- endpoints ---------------------------------------------------------------------------------

BAD_HOSTS = [
    "http://xn--zz",
    "https://xn--zz/",
    "https://xn--",
    "https://xn--zz.example",
    "https://xn--ls8h.example",  # an emoji A-label: not valid IDNA 2008
    "https://\uff25\uff38\uff21\uff2d\uff30\uff2c\uff25.com",  # full-width letters
    "https://a\u200bb.example",  # zero-width space
    "https://\u0661.example",
    "https://exa mple.com",
    "https://exa%20mple.com",
    "https://%41.example",
    "https://a..b.example",
    "https://.example",
    "https://-lead.example",
    "https://trail-.example",
    "https://" + "a" * 64 + ".example",  # a label over 63 characters
    "https://" + ".".join(["abcdefghi"] * 30) + ".example",  # a name over 253 characters
    "https://1.2.3",  # ends in a number but is not an IPv4 address
    "https://0x7f.1",
    "https://256.1.1.1",
    "https://[fe80::1%25eth0]",
    "https://host.example:0",
    "https://host.example:99999",
    "https://[::1",
    "https://ex\x00ample.com",
    "https://ex\nample.com",
    "https://",
    "https:///path",
]


@pytest.mark.parametrize("endpoint", BAD_HOSTS)
def test_a_malformed_endpoint_host_is_one_error_line(
    repo: Path, cli: Run, lookups: list[object], endpoint: str
) -> None:
    write_config(repo, f"    endpoint: {json.dumps(endpoint)}")
    for argv in (("validate",), ("plan",), ("apply", "--auto-approve")):
        line = one_error_line(*cli(*argv)[::2])
        assert "endpoint" in line or line.startswith("error: reconciler.yaml:5:"), line
    assert lookups == []


@pytest.mark.parametrize("endpoint", BAD_HOSTS)
def test_check_endpoint_refuses_malformed_hosts_with_config_error(endpoint: str) -> None:
    with pytest.raises(ConfigError):
        check_endpoint(endpoint)


@pytest.mark.parametrize(
    ("endpoint", "normalised"),
    [
        ("https://b\u00fccher.example", "https://xn--bcher-kva.example"),
        ("https://xn--bcher-kva.example", "https://xn--bcher-kva.example"),
        ("https://B\u00dcCHER.Example/", "https://xn--bcher-kva.example"),
        ("https://eu.api.capillarytech.com", "https://eu.api.capillarytech.com"),
        ("https://eu.api.capillarytech.com.", "https://eu.api.capillarytech.com."),
        ("https://api-1.example:8443/base", "https://api-1.example:8443/base"),
        ("https://10.1.2.3", "https://10.1.2.3"),
        ("https://[2001:db8::1]:443", "https://[2001:db8::1]"),
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
        ("http://[::1]:8080", "http://[::1]:8080"),
        ("http://localhost:1", "http://localhost:1"),
    ],
)
def test_well_formed_hosts_still_pass(endpoint: str, normalised: str) -> None:
    assert check_endpoint(endpoint) == normalised


# -- numbers in reconciler.yaml ------------------------------------------------------------------

HUGE_INT = "1" + "0" * 5000  # more digits than Python converts by default
ODD_NUMBERS = [
    ("rateLimit", ".inf"),
    ("rateLimit", "-.inf"),
    ("rateLimit", ".nan"),
    ("rateLimit", ".NaN"),
    ("rateLimit", "1e400"),
    ("rateLimit", "1" + "0" * 400),
    ("rateLimit", HUGE_INT),
    ("rateLimit", "1e-300"),
    ("rateLimit", "0"),
    ("rateLimit", "-5"),
    ("rateLimit", "true"),
    ("rateLimit", "'100'"),
    ("parallelism", ".inf"),
    ("parallelism", "1e3"),
    ("parallelism", HUGE_INT),
    ("parallelism", "-" + HUGE_INT),
    ("parallelism", "0"),
    ("parallelism", "true"),
    ("parallelism", "8.0"),
    ("maxDeactivatePercent", ".nan"),
    ("maxDeactivatePercent", ".inf"),
    ("maxDeactivatePercent", "-.inf"),
    ("maxDeactivatePercent", "1e400"),
    ("maxDeactivatePercent", HUGE_INT),
    ("maxDeactivatePercent", "false"),
    ("connectTimeout", ".inf"),
    ("connectTimeout", ".nan"),
    ("connectTimeout", "1e300"),
    ("connectTimeout", "0"),
    ("readTimeout", ".inf"),
    ("readTimeout", HUGE_INT),
    ("readTimeout", "-1"),
]


@pytest.mark.parametrize(("key", "value"), ODD_NUMBERS)
@pytest.mark.parametrize("endpoint", ["sandbox", "https://eu.api.capillarytech.com"])
def test_odd_numbers_in_the_configuration_are_one_error_line_with_a_position(
    repo: Path,
    cli: Run,
    lookups: list[object],
    monkeypatch: pytest.MonkeyPatch,
    key: str,
    value: str,
    endpoint: str,
) -> None:
    monkeypatch.setenv("CAPILLARY_CLIENT_KEY", "key")
    monkeypatch.setenv("CAPILLARY_CLIENT_SECRET", "secret-value")
    write_config(repo, f"    endpoint: {endpoint}", **{key: value})
    for argv in (("validate",), ("plan",)):
        line = one_error_line(*cli(*argv)[::2])
        assert line.startswith("error: reconciler.yaml:5:"), line
        assert key in line
    assert lookups == []


def test_a_sensible_configuration_still_plans(repo: Path, cli: Run) -> None:
    write_config(
        repo,
        "    endpoint: sandbox",
        rateLimit="6000.5",
        parallelism="4",
        maxDeactivatePercent="100",
        connectTimeout="0.5",
        readTimeout="30",
    )
    code, out, err = cli("plan")
    assert code == 0, err
    assert "Plan: " in out


_SCALARS = st.one_of(
    st.sampled_from(
        [
            ".inf",
            "-.inf",
            "+.inf",
            ".nan",
            ".NAN",
            "1e400",
            "-1e400",
            "1e-400",
            "0",
            "-0",
            "0x7FFFFFFFFFFFFFFFFFFF",
            "0o777",
            "true",
            "false",
            "null",
            "~",
            "''",
            "[]",
            "{}",
            "[1, 2]",
            "{a: 1}",
            "sandbox",
            "oauth",
            "basic",
            "https://xn--zz",
            "http://127.0.0.1:1",
            "https://b\u00fccher.example",
            "1_000",
            "08",
            "1.5",
            "-3",
            "256",
            "257",
            "100",
            "101",
            "'\\u0000'",
            '"\\ud800"',
            HUGE_INT,
            "-" + HUGE_INT,
        ]
    ),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=20).map(json.dumps),
)
_KEYS = [
    "endpoint",
    "auth",
    "parallelism",
    "rateLimit",
    "maxDeactivatePercent",
    "connectTimeout",
    "readTimeout",
    "vars",
]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(values=st.dictionaries(st.sampled_from(_KEYS), _SCALARS, max_size=len(_KEYS)))
def test_fuzz_the_config_loader_raises_nothing_but_reconciler_errors(
    tmp_path_factory: pytest.TempPathFactory, values: dict[str, str]
) -> None:
    directory = tmp_path_factory.mktemp("config")
    lines = ["defaultEnvironment: e", "environments:", "  e:"]
    lines += [f"    {key}: {value}" for key, value in values.items()] or ["    {}"]
    path = directory / "reconciler.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    environ = {
        "CAPILLARY_CLIENT_KEY": "key",
        "CAPILLARY_CLIENT_SECRET": "secret-value",
        "CAPILLARY_USERNAME": "user",
        "CAPILLARY_PASSWORD": "password-value",
    }
    try:
        chosen = select(path, None, environ)
        url = "http://sandbox.localhost" if chosen.is_sandbox else chosen.env.endpoint
        built = client_settings(chosen, base_url=url, environ=environ)

        async def build() -> None:
            async with CapillaryClient(built):
                pass

        asyncio.run(build())
    except ReconcilerError:
        return
    # Whatever was accepted is usable: finite, in range.
    env = chosen.env
    assert 1 <= env.parallelism <= 256
    for number in (env.rateLimit, env.maxDeactivatePercent, env.connectTimeout, env.readTimeout):
        assert number is None or (not isinstance(number, bool) and math.isfinite(number))


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=400))
def test_fuzz_config_bytes_raise_nothing_but_reconciler_errors(
    tmp_path_factory: pytest.TempPathFactory, data: bytes
) -> None:
    path = tmp_path_factory.mktemp("config") / "reconciler.yaml"
    path.write_bytes(b"environments:\n  e:\n    endpoint: " + data + b"\n")
    with contextlib.suppress(ReconcilerError):
        select(path, "e", {})


# -- saved plans -------------------------------------------------------------------------------


def a_plan() -> Plan:
    desired = [
        DesiredTarget(
            name=f"campaign-{i}",
            targetGroupId=2163,
            targetId=2317 + i,
            prune=True,
            communications=(
                DesiredCommunication("START", 2, "loyalty@example.com", "Hi", "new\n", 0, True),
            ),
            source=Source(f"manifests/c{i}.yaml", 1, 1),
        )
        for i in range(2)
    ]
    live = {
        desired[0].ref: [
            Communication(
                id=9,
                communicationType="START",
                channelId=2,
                sender="loyalty@example.com",
                subjectTemplate="Hi",
                messageTemplate="old\n",
            )
        ],
        desired[1].ref: [],
    }
    return make_plan(desired, live, "sandbox", datetime(2026, 1, 1, tzinfo=UTC))


DEEP = 200_000


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(b"[" * DEEP + b"]" * DEEP, id="array nested 200,000 deep"),
        pytest.param(b'{"a":' * DEEP + b"1" + b"}" * DEEP, id="object nested 200,000 deep"),
        pytest.param(b"[" * DEEP, id="unclosed, 200,000 deep"),
        pytest.param(
            b'{"formatVersion": 1, "targets": ' + b"[" * DEEP + b"]" * DEEP + b"}",
            id="deep inside a plan",
        ),
        pytest.param(b'{"formatVersion": 1, "x": ' + b"[" * 900 + b"]" * 900 + b"}", id="900"),
        pytest.param("ümlaut".encode("latin-1"), id="latin-1"),
        pytest.param(b"\xff\xfe\x00\xd8", id="broken UTF-16"),
        pytest.param(b"\xef\xbb\xbf{}", id="BOM"),
        pytest.param(b"", id="empty"),
        pytest.param(b"null", id="null"),
        pytest.param(b"[]", id="array"),
        pytest.param(b'"plan"', id="string"),
        pytest.param(b"NaN", id="NaN"),
        pytest.param(b'{"formatVersion": NaN}', id="formatVersion NaN"),
        pytest.param(b'{"formatVersion": 1e400}', id="formatVersion inf"),
        pytest.param(b'{"formatVersion": ' + b"1" * 5000 + b"}", id="formatVersion 5000 digits"),
        pytest.param(b'{"formatVersion": true}', id="formatVersion true"),
        pytest.param(b'{"formatVersion": 1, "formatVersion": 1}', id="duplicate keys"),
        pytest.param(b'{"\\ud800": 1}', id="lone surrogate key"),
    ],
)
def test_a_broken_saved_plan_is_one_error_line(repo: Path, cli: Run, content: bytes) -> None:
    (repo / "plan.json").write_bytes(content)
    line = one_error_line(*cli("apply", "--plan", "plan.json", "--auto-approve")[::2])
    assert "saved plan" in line
    assert len(line) < 400
    with pytest.raises(PlanFileError):
        Plan.from_json(content)


def test_a_huge_saved_plan_is_refused_without_reading_it(repo: Path, cli: Run) -> None:
    with open(repo / "plan.json", "wb") as sparse:
        sparse.truncate(2**40)  # one TiB of nothing: a sparse file, no disk used
    line = one_error_line(*cli("apply", "--plan", "plan.json", "--auto-approve")[::2])
    assert "saved plan" in line
    assert "too large" in line


def test_a_saved_plan_that_is_a_directory_or_a_device_is_one_error_line(
    repo: Path, cli: Run
) -> None:
    (repo / "dir.json").mkdir()
    for path in ("dir.json", "/dev/zero", "missing.json"):
        line = one_error_line(*cli("apply", "--plan", path, "--auto-approve")[::2])
        assert path in line


def test_the_saved_plan_loader_still_loads_a_real_plan() -> None:
    plan = a_plan()
    assert Plan.from_json(plan.to_json()) == plan
    assert Plan.from_json(plan.to_json().encode("utf-8")) == plan


def _leaves(value: object) -> st.SearchStrategy[object]:
    del value
    return st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(2**70), max_value=2**70),
        st.floats(allow_nan=True, allow_infinity=True),
        st.text(max_size=12),
        st.sampled_from(["\ud800", "\udfff", "\x00", "\u2028", "##[x]", "::error::x"]),
        st.lists(st.integers(), max_size=3),
        st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
        st.recursive(st.integers(), lambda inner: st.lists(inner, max_size=2), max_leaves=40),
    )


def _paths(value: object, prefix: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _paths(item, (*prefix, index))
    return found


_DOCUMENT = json.loads(a_plan().to_json())
_PATHS = _paths(_DOCUMENT)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    edits=st.lists(
        st.tuples(st.sampled_from(_PATHS), _leaves(None), st.booleans()), min_size=1, max_size=4
    )
)
def test_fuzz_mutated_saved_plans_raise_nothing_but_plan_file_errors(
    edits: list[tuple[tuple[object, ...], object, bool]],
) -> None:
    document = json.loads(json.dumps(_DOCUMENT))
    for path, leaf, delete in edits:
        parent: object = document
        try:
            for step in path[:-1]:
                parent = parent[step]  # type: ignore[index]
            if not path:
                document = leaf
            elif delete and isinstance(parent, dict):
                parent.pop(path[-1], None)
            else:
                parent[path[-1]] = leaf  # type: ignore[index]
        except (KeyError, IndexError, TypeError):
            continue
    text = json.dumps(document, ensure_ascii=False, allow_nan=True)
    for form in (text, text.encode("utf-8", "surrogatepass")):
        try:
            plan = Plan.from_json(form)
        except PlanFileError:
            continue
        # What loads renders and saves again like any plan.
        from reconciler.render.markdown import render_markdown
        from reconciler.render.text import render_text

        render_text(plan, color=False)
        render_markdown(plan)
        plan.to_json().encode("utf-8")


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=300))
def test_fuzz_saved_plan_bytes_raise_nothing_but_plan_file_errors(data: bytes) -> None:
    with contextlib.suppress(PlanFileError):
        Plan.from_json(data)


def test_plan_out_into_a_missing_directory_is_one_error_line(repo: Path, cli: Run) -> None:
    line = one_error_line(*cli("plan", "--out", "missing/plan.json")[::2])
    assert "missing/plan.json" in line
    assert not (repo / "missing").exists()
