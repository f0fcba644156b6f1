"""Sender formats per channel: SMS sender ids (alphanumeric or numeric) and email addresses.

Pure checks of one string; email addresses are checked with ``email-validator``, offline (no
DNS lookup, ever).
"""

from __future__ import annotations

import re
from functools import lru_cache

ALPHANUMERIC_MAX = 11
NUMERIC_MAX = 15
_ALPHANUMERIC = re.compile(r"[A-Za-z0-9 ]+")
_NUMERIC = re.compile(r"\+?[0-9]+")


def sms_sender_problem(sender: str) -> str | None:
    """Why ``sender`` cannot be an SMS sender id, or None.

    Alphanumeric ids are 1-11 characters from A-Z, a-z, 0-9 and space with at least one
    letter; numeric ids (a phone number or short code, optionally with ``+``) up to 15 digits.
    """
    if _NUMERIC.fullmatch(sender):
        digits = len(sender.lstrip("+"))
        if digits <= NUMERIC_MAX:
            return None
        return f"numeric sender id has {digits} digits; at most {NUMERIC_MAX} are delivered"
    if not sender.strip():
        return "SMS sender id is empty"
    bad = next((ch for ch in sender if not _ALPHANUMERIC.fullmatch(ch)), None)
    if bad is not None:
        return (
            f"SMS sender id {sender!r} contains {bad!r}; alphanumeric sender ids allow only "
            "letters A-Z, digits and spaces"
        )
    if not any(ch.isalpha() for ch in sender):
        return f"SMS sender id {sender!r} has no letter; an alphanumeric id needs one"
    if len(sender) > ALPHANUMERIC_MAX:
        return (
            f"SMS sender id {sender!r} is {len(sender)} characters; carriers drop alphanumeric "
            f"ids over {ALPHANUMERIC_MAX}"
        )
    return None


# A plain address (ASCII dot-atom, host name with an alphabetic top-level domain) is one
# email-validator accepts too (a property test holds the two together): most senders are, and
# they need not pay the 30 ms its import costs. Anything else goes to email-validator.
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_PLAIN_ADDRESS = re.compile(rf"{_ATOM}(?:\.{_ATOM})*@(?:{_LABEL}\.)+[A-Za-z]{{2,63}}")
_SPECIAL_USE = ("arpa", "invalid", "local", "localhost", "onion", "test")


def plain_address(sender: str) -> bool:
    """Whether ``sender`` is a plain ASCII address that needs no further check."""
    if len(sender) > 254 or not _PLAIN_ADDRESS.fullmatch(sender):
        return False
    local, _, domain = sender.rpartition("@")
    if len(local) > 64 or len(domain) > 253 or "--" in domain:  # "xn--": IDNA rules apply
        return False
    return domain.rsplit(".", 1)[-1].lower() not in _SPECIAL_USE


@lru_cache(maxsize=4096)
def email_sender_problem(sender: str) -> str | None:
    """Why ``sender`` is not one email address (an RFC 5322 addr-spec), or None."""
    if plain_address(sender):
        return None
    from email_validator import EmailNotValidError, validate_email

    try:
        validate_email(sender, check_deliverability=False)
    except EmailNotValidError as exc:
        return f"email sender {sender!r} is not one email address: {exc}"
    return None
