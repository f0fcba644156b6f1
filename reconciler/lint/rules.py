"""The lint rules: ids, default severities, one-line fixes and the reasons the docs give.

Pure data, imported by the configuration (to refuse unknown rule ids) and by the engine; it
imports nothing else of the package.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Literal

Severity = Literal["error", "warning"]
Level = Literal["error", "warning", "off"]


@dataclass(frozen=True)
class Rule:
    """One check: its id, what it reports by default, how to fix it, and why it exists."""

    id: str
    severity: Severity
    fix: str
    reason: str


_RULES = (
    Rule(
        "sms-encoding",
        "warning",
        "replace the character with its GSM-7 equivalent (reconciler lint --fix)",
        "One character outside the GSM 03.38 alphabet turns the whole SMS into UCS-2: 70 "
        "characters per segment instead of 160, so a 150-character message costs 3 segments.",
    ),
    Rule(
        "sms-segments",
        "error",
        "shorten the message, or raise maxSegments for the environment",
        "Every segment is billed per recipient; above maxSegments (default 3) a message is "
        "almost always a mistake.",
    ),
    Rule(
        "sms-multipart",
        "warning",
        "shorten the message to one segment (160 GSM-7 or 70 UCS-2 characters)",
        "A message of more than one segment costs that many times as much per recipient.",
    ),
    Rule(
        "sms-subject",
        "warning",
        'remove subjectTemplate (or set it to "")',
        "SMS has no subject: the text is never sent, so what reviewers read is not what "
        "customers get.",
    ),
    Rule(
        "sms-sender",
        "error",
        "use 1-11 letters, digits or spaces with at least one letter, or up to 15 digits",
        "Carriers drop or rewrite SMS whose alphanumeric sender id is longer than 11 "
        "characters, has other characters, or has no letter.",
    ),
    Rule(
        "email-sender",
        "error",
        "use exactly one address such as loyalty@brand.example, without a display name",
        "The sender of an email must be one address (an RFC 5322 addr-spec); anything else "
        "is rejected at send time.",
    ),
    Rule(
        "email-subject",
        "error",
        "give the email a subjectTemplate",
        "An email without a subject is marked as spam or not opened.",
    ),
    Rule(
        "email-subject-length",
        "warning",
        "shorten the subject to 78 characters or fewer",
        "Mail clients cut long subjects, and RFC 5322 recommends header lines of at most "
        "78 characters.",
    ),
    Rule(
        "email-html",
        "warning",
        "close the element, or remove the stray end tag",
        "Unbalanced HTML renders differently in each mail client; a missing </a> can turn the "
        "rest of the message into a link.",
    ),
    Rule(
        "push-length",
        "warning",
        "shorten the body to 178 characters or fewer",
        "Lock screens cut push notifications after about 178 characters.",
    ),
    Rule(
        "push-payload",
        "error",
        "shorten the subject and body: the payload must stay under 4 KB",
        "Push services refuse payloads over 4 KB (4,096 bytes), so the message is never delivered.",
    ),
    Rule(
        "placeholder-syntax",
        "error",
        "write placeholders as {{name}}, each opened and closed",
        "A placeholder that is not closed, is empty or holds no tag name goes out literally.",
    ),
    Rule(
        "placeholder-unknown",
        "warning",
        "correct the tag name, or add it to the environment's tags: list",
        "A tag Capillary does not know is sent literally ({{frist_name}}); tags of targets "
        "are undocumented, so this is a warning unless --strict.",
    ),
    Rule(
        "placeholder-variable",
        "error",
        "define the variable in the environment's vars, or remove the ${...}",
        "A ${...} left after interpolation (written as $${...}) is sent to customers as it is.",
    ),
    Rule(
        "liquid-tag",
        "error",
        "remove the {% ... %} tag, or set liquid: true for the environment",
        "Liquid logic works only when the org's Liquid feature is on; otherwise the tags go "
        "out literally.",
    ),
    Rule(
        "liquid-syntax",
        "error",
        "correct the Liquid syntax",
        "A template Liquid cannot parse fails at send time.",
    ),
    Rule(
        "ignore-comment",
        "warning",
        "name an existing rule id in # reconciler: ignore[...]",
        "An ignore comment that names no rule switches nothing off, which is never what was meant.",
    ),
)

RULES: dict[str, Rule] = {rule.id: rule for rule in _RULES}
RULE_IDS: tuple[str, ...] = tuple(RULES)


def unknown_rule(name: str) -> str:
    """``unknown lint rule 'x'; did you mean 'y'?`` (or the list of rule ids)."""
    close = difflib.get_close_matches(name, RULE_IDS, n=1)
    if close:
        return f"unknown lint rule {name!r}; did you mean {close[0]!r}?"
    return f"unknown lint rule {name!r}; the rules are: {', '.join(RULE_IDS)}"


Field = Literal["sender", "subjectTemplate", "messageTemplate"]
ChannelKind = Literal["sms", "email", "push"]

# Channels known by name (the API's channel list); any other name has no channel rules.
NAMED_CHANNELS: dict[str, ChannelKind] = {"SMS": "sms", "EMAIL": "email", "MOBILE PUSH": "push"}


def named_kind(name: str) -> ChannelKind | None:
    """The kind of a channel by its name (``Mobile  Push`` is ``MOBILE PUSH``), or None."""
    kind = NAMED_CHANNELS.get(name)
    return kind if kind is not None else NAMED_CHANNELS.get(" ".join(name.upper().split()))


@dataclass(frozen=True)
class Finding:
    """One rule's finding on one communication: at a field (its value, or with ``index`` a
    character of its text after interpolation), or at the entry itself when ``field`` is None.
    ``fix`` replaces the rule's own one-line fix when it can be more precise."""

    rule: str
    message: str
    field: Field | None = None
    index: int | None = None
    fix: str = ""
