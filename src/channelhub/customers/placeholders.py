"""Filler values that store staff and checkout forms type when a customer gives none. Pure.

A filler is never evidence that two records are one person: ``geen@email.nl`` ("none") or
``0612345678`` sits on hundreds of records of hundreds of people. The list covers Dutch,
Swedish, Belgian and German habits; the retailer's own store numbers and addresses come from
its locations and its merge rules, and anything else is caught by counting how many different
names share a value (``customers.quarantine``).
"""

from __future__ import annotations

import re

#: Mailbox names that mean "no e-mail" in Dutch, Swedish, German, French and English,
#: whatever the domain ("geen@email.nl", "ingen@mail.se", "keine@mail.de").
FILLER_MAILBOXES = frozenset(
    {"geen", "geenemail", "geen.email", "geen-email", "geenmail", "nvt", "n.v.t", "geen.mail",
     "ingen", "ingenmail", "ingen.mail", "ingenepost", "ingen.epost", "saknas", "nej",
     "keine", "keinemail", "keine.email", "kein", "keine-mail", "aucun", "pasdemail", "rien",
     "noemail", "no.email", "no-email", "nomail", "no.mail", "no", "none", "nobody", "noreply",
     "no-reply", "donotreply", "na", "n.a", "x", "xx", "xxx", "xxxx", "abc", "test", "unknown",
     "onbekend", "okand", "klant", "kund", "kunde", "client", "customer", "anoniem",
     "anonymous", "aa", "aaa"}
)  # fmt: skip
#: Domains that are fillers whatever the mailbox ("jan@geen.nl").
FILLER_DOMAINS = frozenset(
    {"geen.nl", "geenemail.nl", "noemail.com", "nomail.com", "no-email.com", "none.com",
     "ingen.se", "ingenmail.se", "keine.de", "keinemail.de",
     "test.nl", "test.se", "test.de", "test.be", "x.nl", "xx.nl", "xxx.nl", "x.se", "x.de",
     "onbekend.nl", "unknown.com"}
)  # fmt: skip
#: National numbers typed to get past a required field.
_SEQUENCES = ("0123456789", "1234567", "9876543", "7654321")


def is_filler_email(address: str) -> bool:
    local, _, domain = address.rpartition("@")
    if domain in FILLER_DOMAINS:
        return True
    if local in FILLER_MAILBOXES:
        return True
    return len(local) >= 3 and bool(re.fullmatch(r"(.)\1*", local))  # "aaaa@", "0000@"


def is_filler_phone(e164: str) -> bool:
    """``+31600000000``, ``+31612345678``, ``+46701234567``, ``+31201111111``: numbers whose
    subscriber part is one repeated digit or a counting run."""
    digits = e164.lstrip("+")
    # The subscriber part: drop the country code (1-3 digits) and a 1-2 digit area or mobile
    # prefix; a run of one digit or a counting sequence there is a filler.
    for cut in range(2, min(6, len(digits) - 5)):
        tail = digits[cut:]
        if len(tail) >= 6 and len(set(tail)) == 1:
            return True
    return any(seq in digits for seq in _SEQUENCES)


def is_placeholder(kind: str, value: str) -> bool:
    """Whether a normalized identifier is a known filler (never merged on)."""
    if kind == "email":
        return is_filler_email(value)
    if kind == "phone":
        return is_filler_phone(value)
    if kind == "loyalty_card":
        return len(value) >= 4 and (len(set(value)) == 1 or value in _SEQUENCES)
    return False


__all__ = ["FILLER_DOMAINS", "FILLER_MAILBOXES", "is_placeholder"]
