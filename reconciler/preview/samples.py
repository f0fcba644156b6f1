"""Sample data for preview: the environment's named profiles (``samples:`` in reconciler.yaml),
the built-in ``worst-case`` profile, and a profile read from a YAML file (``--sample FILE``).

A profile maps a placeholder's name to the text it stands for. A placeholder a profile has no
value for stays visible in the preview, marked; it is never filled with nothing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from reconciler.errors import ConfigError

WORST_CASE = "worst-case"

# The longest plausible values Capillary's catalogue tags take: long (GSM-7) names, the
# largest numbers, dates far ahead, codes and links at their longest.
_WORST_NAME = "Maximiliana-Alexandra"
_WORST_LAST = "Vandenberghe-Oppenheimer"
_WORST_DATE = "31 December 2099"
_WORST_NUMBER = "9,999,999.99"
_WORST_CODE = "NWR-8F3K-Q9ZP-2M7X-LT4V"
_WORST_URL = "https://rewards.northwind.example/account/preferences/unsubscribe?c=8F3KQ9ZP2M7XLT4V"
WORST_CASE_VALUES: Mapping[str, str] = {
    "first_name": _WORST_NAME,
    "last_name": _WORST_LAST,
    "fullname": f"{_WORST_NAME} {_WORST_LAST}",
    "cust_name": f"{_WORST_NAME} {_WORST_LAST}",
    "slab_name": "Platinum Elite Plus Lifetime",
    "unsubscribe": _WORST_URL,
    "optout": _WORST_URL,
    "voucher": _WORST_CODE,
    "voucher_code": _WORST_CODE,
    "voucher_expiry_date": _WORST_DATE,
    "validation_code": "99999999",
    "valid_days_from_create": "9,999",
    "offer_name": "Double points on every purchase all autumn long",
    "customer_mobile": "+44 7700 900 999",
    "customer_email": "maximiliana.vandenberghe-oppenheimer@mail.northwind.example",
    "expiring_points_value": _WORST_NUMBER,
    "recommended_products": "Organic Fairtrade Colombian Coffee Beans 1kg, Oat Milk 6x1l",
    "event_name": "Northwind Rewards Summer Streak Weekend Brunch Club",
    "custom_field_name": "preferred_store_location",
    "custom_field_value": "Northwind Market Hall, Upper Kensington High Street",
}

# Tags of an environment's ``tags:`` get a worst-case value by what their name says.
_BY_NAME: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"date|expiry|until|deadline"), _WORST_DATE),
    (re.compile(r"url|link|unsubscribe|optout"), _WORST_URL),
    (re.compile(r"code|voucher|coupon"), _WORST_CODE),
    (re.compile(r"email"), WORST_CASE_VALUES["customer_email"]),
    (re.compile(r"mobile|phone"), WORST_CASE_VALUES["customer_mobile"]),
    (re.compile(r"value|points|amount|balance|spend|count|remaining|total"), _WORST_NUMBER),
    (re.compile(r"period|week|day|month|number|visits"), "52"),
    (re.compile(r"name"), "Northwind Rewards Summer Streak Weekend Brunch Club"),
)


@dataclass(frozen=True)
class Sample:
    """One profile: its name (as the page shows it) and its values by placeholder name."""

    name: str
    values: Mapping[str, str] = field(default_factory=dict)

    def value(self, tag: str) -> str | None:
        return self.values.get(tag)


def worst_case(tags: tuple[str, ...] = ()) -> Sample:
    """The built-in profile: the catalogue's longest plausible values, and one for each of the
    environment's own tags whose name says what it holds (``period_end_date``: a far date)."""
    values = dict(WORST_CASE_VALUES)
    for tag in tags:
        if tag in values or tag.endswith(".*"):
            continue
        guessed = _guess(tag)
        if guessed is not None:
            values[tag] = guessed
    return Sample(WORST_CASE, values)


def _guess(tag: str) -> str | None:
    lowered = tag.lower()
    for pattern, value in _BY_NAME:
        if pattern.search(lowered):
            return value
    return None


def choose(
    chosen: str | None,
    profiles: Mapping[str, Mapping[str, str]],
    tags: tuple[str, ...] = (),
    *,
    cwd: Path | None = None,
) -> Sample:
    """The profile ``--sample`` names: one of ``profiles``, ``worst-case``, or a YAML file.

    Without ``--sample``, the environment's first profile, or ``worst-case`` when it has none.
    """
    if chosen is None:
        if profiles:
            first = next(iter(profiles))
            return Sample(first, dict(profiles[first]))
        return worst_case(tags)
    if chosen == WORST_CASE:
        return worst_case(tags)
    if chosen in profiles:
        return Sample(chosen, dict(profiles[chosen]))
    path = (cwd or Path()) / chosen
    if path.is_file():
        return read_sample_file(path, chosen)
    known = ", ".join([WORST_CASE, *profiles])
    raise ConfigError(
        f"--sample {chosen!r} is neither a sample profile ({known}) nor a file of sample values"
    )


def read_sample_file(path: Path, shown: str) -> Sample:
    """A YAML file holding one mapping of placeholder name to value (strings or numbers)."""
    from reconciler.manifests.yamlstrict import MAX_FILE_BYTES, YamlProblem, decode, read_documents

    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise ConfigError(f"{shown}: sample file is larger than 1 MiB")
        documents = read_documents(decode(path.read_bytes()))
    except YamlProblem as exc:
        raise ConfigError(f"{shown}:{exc.line}:{exc.col}: {exc.message}") from None
    except OSError as exc:
        raise ConfigError(f"{shown}: cannot read sample file: {exc.strerror}") from None
    if len(documents) != 1 or not isinstance(documents[0].value, dict):
        raise ConfigError(f"{shown}: a sample file is one mapping of placeholder name to value")
    values: dict[str, str] = {}
    for key, value in documents[0].value.items():
        if not isinstance(key, str) or isinstance(value, bool) or value is None:
            raise ConfigError(f"{shown}: {key!r}: sample values are text or numbers")
        if not isinstance(value, str | int | float):
            raise ConfigError(f"{shown}: {key!r}: sample values are text or numbers")
        values[key] = str(value)
    return Sample(path.name, values)
