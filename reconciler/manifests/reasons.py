"""pydantic's schema errors as one-line reasons at the data path they are about (SPEC §3).

Pure wording: knows the schema's field names, never the file or its positions' text.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping, Sequence

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from reconciler.manifests.schema import FIELD_NAMES
from reconciler.manifests.yamlstrict import Document, Path_

# Error kinds whose reason is ``{name} must be ..., found {found}`` and nothing more.
_MUST_BE = {
    "int_type": "an integer",
    "int_parsing": "an integer",
    "int_from_float": "an integer",
    "bool_type": "true or false",
    "float_type": "a number",
    "float_parsing": "a number",
    "finite_number": "a finite number",
    "bool_parsing": "true or false",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "list_type": "a list",
}


def describe(value: object) -> str:
    """``value`` as a reason names what was found: ``integer 3``, ``string 'x'``, ``a list``."""
    if value is None:
        return "an empty value"
    if isinstance(value, bool):
        return f"boolean {str(value).lower()}"
    if isinstance(value, int):
        return f"integer {value}"
    if isinstance(value, float):
        return f"number {value}"
    if isinstance(value, str):
        return f"string {value!r}"
    if isinstance(value, list):
        return "a list"
    return "a mapping"


# The bounds of a number, as a reason words them.
_BOUNDS = {
    "greater_than_equal": ("ge", "{} or more"),
    "greater_than": ("gt", "more than {}"),
    "less_than_equal": ("le", "{} or less"),
    "less_than": ("lt", "less than {}"),
}

# The field names allowed in the mapping at a data path (for did-you-mean).
FieldNames = Callable[[Path_], Sequence[str]]


def manifest_fields(loc: Path_) -> Sequence[str]:
    """A manifest's fields in the mapping that holds ``loc``: the schema's, by section name."""
    context = next((str(p) for p in reversed(loc) if isinstance(p, str)), "")
    return FIELD_NAMES.get(context, ())


def collapse(
    exc: ValidationError, document: Document, fields: FieldNames = manifest_fields
) -> list[tuple[Path_, str, bool]]:
    """Turn pydantic's errors into (path, one-line reason, point-at-key) triples, one per path.

    ``fields`` names the keys allowed at a path, for unknown keys; the manifest schema's by
    default (the configuration file passes its own)."""
    out: dict[Path_, tuple[str, bool]] = {}
    errors = exc.errors(include_url=False)
    unions = _unions(errors, document)
    for error in errors:
        found = _reason(error, document, out, fields, unions)
        if found is not None:
            at, message, key = found
            out.setdefault(at, (message, key))
    return [(at, message, key) for at, (message, key) in out.items()]


# How a reason names the members of a union (``str | list[str]``), by pydantic's tag.
_MEMBERS = {"str": "a string", "int": "an integer", "list[str]": "a list of strings"}
_Union = tuple[list[str], bool]  # the members that failed; an error about an item inside one


def _data_path(loc: Path_, document: Document) -> Path_:
    """``loc`` trimmed to a real data path (union members add their type name to it)."""
    at = loc
    while at and at not in document.values:
        at = at[:-1]
    return at


def _unions(errors: Sequence[ErrorDetails], document: Document) -> dict[Path_, _Union]:
    """The union members that failed, by the data path of the union, and whether an error
    is about an item inside one of them (``manifests: [m/, 5]``)."""
    unions: dict[Path_, _Union] = {}
    for error in errors:
        loc: Path_ = tuple(error["loc"])
        at = _data_path(loc, document)
        if len(loc) <= len(at):
            continue
        members, inside = unions.get(at, ([], False))
        tag = str(loc[len(at)])
        inner = at + loc[len(at) + 1 :]
        unions[at] = (
            members if tag in members else [*members, tag],
            inside or (len(inner) > len(at) and inner in document.values),
        )
    return unions


def _reason(
    error: ErrorDetails,
    document: Document,
    out: Mapping[Path_, tuple[str, bool]],
    fields: FieldNames = manifest_fields,
    unions: Mapping[Path_, _Union] | None = None,
) -> tuple[Path_, str, bool] | None:
    """One error's path, reason and whether it points at the key; None when an earlier
    reason for the same path already says what this one would."""
    loc: Path_ = tuple(error["loc"])
    kind = error["type"]
    name = str(loc[-1]) if loc else "document"
    if kind == "missing":
        return loc[:-1], f"missing required field '{name}'", False
    if kind == "extra_forbidden":
        if loc[:1] == ("ignore",) and loc[2:3] == ("rule",):
            loc = (*loc[:2], *loc[3:])  # the union's tag is no data path: a keyed rule's key
        return loc, _unknown_field(loc, fields), True
    at = _data_path(loc, document)
    members, inside = (unions or {}).get(at, ([], False))
    if len(loc) > len(at) and set(members) - {"int", "str"}:
        # A union such as ``str | list[str]``: an item of the list member is named by its
        # own path; otherwise the union is worded by its members.
        inner = at + loc[len(at) + 1 :]
        if len(inner) > len(at) and inner in document.values:
            loc, at, name = inner, inner, str(inner[-1])
        elif inside:
            return None  # the item's own reason says what is wrong
        else:
            words = " or ".join(_MEMBERS.get(m, m) for m in members)
            return at, f"{at[-1]} must be {words}, found {describe(error.get('input'))}", False
    if kind == "literal_error" and at and isinstance(at[-1], int):
        # An item of a list of names (``ignore: [...]``): named by its list, not its index.
        name = f"{next((str(p) for p in reversed(at) if isinstance(p, str)), 'list')} item"
    if at in out and out[at][0].startswith(f"{name} must be"):
        return None
    value = error.get("input")
    if kind in ("int_type", "string_type") and len(loc) > len(at):
        message = (
            f"{at[-1]} must be an id (integer) or an exact name (string), found {describe(value)}"
        )
    elif kind == "string_type":
        message = f"{name} must be a string, found {describe(value)}"
        raw = document.plain_non_strings.get(at)
        if raw is not None:
            message += f"; quote the value ('{raw}')"
    elif kind in _MUST_BE:
        message = f"{name} must be {_MUST_BE[kind]}, found {describe(value)}"
    elif kind in _BOUNDS:
        bound, wording = _BOUNDS[kind]
        limit = error.get("ctx", {}).get(bound)
        if isinstance(limit, float) and limit.is_integer():
            limit = int(limit)  # 100, not 100.0
        message = f"{name} must be {wording.format(limit)}, found {describe(value)}"
    elif kind == "value_error":  # our own validators word their reason
        message = f"{name}: {str(error['msg']).removeprefix('Value error, ')}"
    elif kind == "literal_error":
        message = _not_one_of(name, error, value)
    elif kind in ("string_too_short", "too_short"):
        message = f"{name} must not be empty"
    elif kind == "string_too_long":
        limit = error.get("ctx", {}).get("max_length")
        message = f"{name} is too long (at most {limit} characters)"
    else:
        message = f"{name}: {error['msg']}"
    return at, message, False


def _not_one_of(name: str, error: ErrorDetails, value: object) -> str:
    expected = error.get("ctx", {}).get("expected", "")
    message = f"{name} must be one of {expected}, found {describe(value)}"
    if isinstance(value, str):
        options = [o.strip(" '") for o in str(expected).replace(" or ", ",").split(",")]
        # Upper-case words (communicationType), or lower-case words (auth: oauth | basic);
        # a version such as 'reconciler/v2' is not a misspelling of 'reconciler/v1'.
        close = difflib.get_close_matches(value.upper(), options, n=1) or (
            difflib.get_close_matches(value.lower(), [o for o in options if o.isalpha()], n=1)
        )
        if not close and name.endswith(" item"):  # field names are not upper case
            close = difflib.get_close_matches(value, options, n=1)
        if close:
            message += f"; did you mean '{close[0]}'?"
    return message


def _unknown_field(loc: Path_, fields: FieldNames = manifest_fields) -> str:
    name = str(loc[-1])
    known = tuple(fields(loc[:-1]))
    message = f"unknown field '{name}'"
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    if not close:
        close = [k for k in known if k.lower() == name.lower()]
    if close:
        return f"{message}; did you mean '{close[0]}'?"
    return f"{message}; expected one of: {', '.join(known)}"
