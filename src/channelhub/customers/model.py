"""The customer model: incoming records, identifier normalization, merge rules and the
union-find identity graph. Pure: no SQL, no HTTP.

An identifier is ``(kind, value)`` with the value normalized so that equal customers give equal
values: e-mail addresses through email-validator (lower-cased), phone numbers to E.164 through
phonenumbers (default region from the record's country, the channel's or the rules'), loyalty
cards without spaces or dashes, and channel-scoped ids (``channel:id``) for each channel's
customer id and a marketplace's pseudonymous buyer id.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

import phonenumbers
from email_validator import SPECIAL_USE_DOMAIN_NAMES, EmailNotValidError, validate_email

from channelhub.customers.names import SURNAME_PARTICLES as SURNAME_PARTICLES
from channelhub.customers.names import name_conflict, name_key, split_name
from channelhub.customers.parsing import country_code, parse_birth_date
from channelhub.customers.placeholders import is_placeholder


class IdentifierKind(StrEnum):
    EMAIL = "email"
    PHONE = "phone"
    LOYALTY_CARD = "loyalty_card"
    CHANNEL_CUSTOMER = "channel_customer"
    DEVICE = "device"
    #: A marketplace's pseudonymous buyer id: kept, never merged on by itself.
    MARKETPLACE_BUYER = "marketplace_buyer"


K = IdentifierKind

#: Kinds that may never be strong, whatever the configuration says.
NEVER_STRONG = frozenset({K.MARKETPLACE_BUYER})


class CustomerError(ValueError):
    """An identifier or record that cannot be used, with what and where."""


@dataclass(frozen=True)
class Address:
    line1: str = ""
    line2: str = ""
    postal_code: str = ""
    city: str = ""
    country: str = ""

    def as_dict(self) -> dict[str, str]:
        return {
            "line1": self.line1,
            "line2": self.line2,
            "postal_code": self.postal_code,
            "city": self.city,
            "country": self.country,
        }

    @property
    def is_empty(self) -> bool:
        return not (self.line1 or self.postal_code or self.city)


@dataclass(frozen=True)
class CustomerRecord:
    """What one channel knows of a customer, keyed by ``(channel, source_ref)``.

    ``source_ref`` is the channel's key for this record: its customer id for an account, the
    order id for a guest order, the card number for a loyalty sign-up.
    """

    channel: str
    source_ref: str
    email: str = ""
    email_verified: bool = False
    phone: str = ""
    #: ISO 3166 alpha-2 country of the customer, the default region of a national phone number.
    country: str = ""
    loyalty_card: str = ""
    customer_id: str = ""
    device_id: str = ""
    marketplace_buyer_id: str = ""
    first_name: str = ""
    last_name: str = ""
    #: A full name when the channel gives no split (orders): the last word is the surname.
    name: str = ""
    birth_date: str = ""  # ISO 8601 date
    address: Address = Address()
    observed_at: datetime | None = None


@dataclass(frozen=True)
class MergeRules:
    """Which identifier kinds merge profiles, and the guards against "blob" profiles."""

    strong_kinds: frozenset[str] = frozenset(
        {K.EMAIL, K.PHONE, K.LOYALTY_CARD, K.CHANNEL_CUSTOMER, K.DEVICE}
    )
    #: Normalized ``kind:value`` never merged on (a shop's own address, a till's default phone).
    blocked_values: frozenset[str] = frozenset()
    #: E-mail domains never merged on (test and throw-away addresses).
    blocked_email_domains: frozenset[str] = frozenset(
        {"example.com", "example.org", "example.net", "test.com", "mailinator.com"}
    )
    #: At most this many distinct values of a kind in one profile.
    identifier_caps: Mapping[str, int] = field(
        default_factory=lambda: {
            K.EMAIL: 5,
            K.PHONE: 5,
            K.LOYALTY_CARD: 3,
            K.CHANNEL_CUSTOMER: 12,
            K.DEVICE: 10,
            K.MARKETPLACE_BUYER: 20,
        }
    )
    max_identifiers_per_profile: int = 40
    default_region: str = "NL"
    channel_regions: Mapping[str, str] = field(default_factory=dict)
    #: Probabilistic matcher: at or above ``upper`` link, from ``lower`` suggest.
    upper_threshold: float = 0.80
    lower_threshold: float = 0.62
    suggest: bool = True
    #: Kinds that merge only when the names, where both sides have them, agree (first names
    #: included; nicknames and initials allowed): a household shares an e-mail address, a
    #: landline, a loyalty card and a tablet.
    name_checked_kinds: frozenset[str] = frozenset({K.EMAIL, K.PHONE, K.LOYALTY_CARD, K.DEVICE})
    #: A value held by records of this many different names is quarantined: it never merges
    #: on its own until a person releases it (per kind in ``shared_value_limits``).
    shared_value_names: int = 4
    shared_value_limits: Mapping[str, int] = field(default_factory=dict)
    #: Use the shipped list of filler values (geen@email.nl, 0000000000, ...).
    known_placeholders: bool = True
    #: The retailer's own phone numbers (store tills), as written; never merged on.
    store_phones: frozenset[str] = frozenset()

    def shared_value_limit(self, kind: str) -> int:
        return int(self.shared_value_limits.get(kind, self.shared_value_names))

    def is_strong(self, kind: str) -> bool:
        return kind in self.strong_kinds and kind not in NEVER_STRONG

    def blocked_reason(self, kind: str, value: str) -> str | None:
        """Why ``value`` may not merge profiles, or None."""
        if f"{kind}:{value}" in self.blocked_values:
            return f"{kind} {value} is on the blocked list"
        if kind == K.EMAIL and value.rsplit("@", 1)[-1] in self.blocked_email_domains:
            return f"e-mail domain of {value} is blocked"
        if kind == K.PHONE and value in self.store_phones:
            return f"phone {value} is one of the retailer's own numbers"
        if self.known_placeholders and is_placeholder(kind, value):
            return f"{kind} {value} is a known filler value"
        return None

    def as_dict(self) -> dict[str, Any]:
        return {
            "strong_kinds": sorted(str(k) for k in self.strong_kinds),
            "blocked_values": sorted(self.blocked_values),
            "blocked_email_domains": sorted(self.blocked_email_domains),
            "identifier_caps": {str(k): v for k, v in self.identifier_caps.items()},
            "max_identifiers_per_profile": self.max_identifiers_per_profile,
            "default_region": self.default_region,
            "channel_regions": dict(self.channel_regions),
            "upper_threshold": self.upper_threshold,
            "lower_threshold": self.lower_threshold,
            "suggest": self.suggest,
            "name_checked_kinds": sorted(str(k) for k in self.name_checked_kinds),
            "shared_value_names": self.shared_value_names,
            "shared_value_limits": {str(k): v for k, v in self.shared_value_limits.items()},
            "known_placeholders": self.known_placeholders,
            "store_phones": sorted(self.store_phones),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> MergeRules:
        """Rules from their JSON form; unknown kinds or bad thresholds raise CustomerError."""
        default = cls()
        known = {k.value for k in K}
        strong = frozenset(str(k) for k in data.get("strong_kinds", default.strong_kinds))
        caps = {
            str(k): v
            for k, v in {**default.identifier_caps, **dict(data.get("identifier_caps", {}))}.items()
        }
        checked = frozenset(
            str(k) for k in data.get("name_checked_kinds", default.name_checked_kinds)
        )
        for kind in list(strong) + list(caps) + list(checked):
            if kind not in known:
                raise CustomerError(f"unknown identifier kind {kind!r}; known: {sorted(known)}")
        if strong & NEVER_STRONG:
            raise CustomerError("marketplace_buyer ids are never merged on by themselves")
        if any(not isinstance(v, int) or v < 1 for v in caps.values()):
            raise CustomerError("identifier_caps: each cap must be a whole number of at least 1")
        upper = float(data.get("upper_threshold", default.upper_threshold))
        lower = float(data.get("lower_threshold", default.lower_threshold))
        if not 0 < lower <= upper <= 1:
            raise CustomerError("thresholds: need 0 < lower_threshold <= upper_threshold <= 1")
        maximum = int(data.get("max_identifiers_per_profile", default.max_identifiers_per_profile))
        limits = {str(k): v for k, v in dict(data.get("shared_value_limits", {})).items()}
        names = data.get("shared_value_names", default.shared_value_names)
        for kind in limits:
            if kind not in known:
                raise CustomerError(f"unknown identifier kind {kind!r}; known: {sorted(known)}")
        if any(not isinstance(v, int) or v < 2 for v in [names, *limits.values()]):
            raise CustomerError(
                "shared_value_names and shared_value_limits: whole numbers of at least 2"
            )
        if maximum < 1:
            raise CustomerError("max_identifiers_per_profile must be at least 1")
        return cls(
            strong_kinds=strong,
            blocked_values=frozenset(data.get("blocked_values", default.blocked_values)),
            blocked_email_domains=frozenset(
                d.lower() for d in data.get("blocked_email_domains", default.blocked_email_domains)
            ),
            identifier_caps=caps,
            max_identifiers_per_profile=maximum,
            default_region=str(data.get("default_region", default.default_region)).upper(),
            channel_regions={
                str(k): str(v).upper() for k, v in dict(data.get("channel_regions", {})).items()
            },
            upper_threshold=upper,
            lower_threshold=lower,
            suggest=bool(data.get("suggest", default.suggest)),
            name_checked_kinds=checked,
            shared_value_names=int(names),
            shared_value_limits=limits,
            known_placeholders=bool(data.get("known_placeholders", default.known_placeholders)),
            store_phones=frozenset(
                normalize_identifier(K.PHONE, str(p), region=str(data.get("default_region", "NL")))
                for p in data.get("store_phones", ())
            ),
        )


# --- normalization ------------------------------------------------------------------------

#: Plain ASCII addresses whose normalization by email-validator is known in advance (the whole
#: address lower-cased); tests check the equivalence. Anything else goes to email-validator.
PLAIN_EMAIL = re.compile(
    r"[a-zA-Z0-9_+-]+(?:\.[a-zA-Z0-9_+-]+)*"
    r"@(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.)+[a-zA-Z]{2,63}"
)
_SPECIAL_USE = tuple(SPECIAL_USE_DOMAIN_NAMES)
_email_cache: dict[str, str] = {}


def _plain_email(text: str) -> str | None:
    """The normalized address when ``text`` is a plain ASCII one, else None."""
    if len(text) > 254 or not PLAIN_EMAIL.fullmatch(text):
        return None
    local, domain = text.lower().rsplit("@", 1)
    if len(local) > 64 or "xn--" in domain:
        return None
    tld = domain.rsplit(".", 1)[-1]
    if tld in _SPECIAL_USE or any(domain.endswith("." + d) for d in _SPECIAL_USE):
        return None
    return f"{local}@{domain}"


#: Gmail ignores dots in the mailbox name and anything after a +, and googlemail.com is the
#: same mailbox.
GMAIL_DOMAINS = frozenset({"gmail.com", "googlemail.com"})


def fold_mailbox(address: str) -> str:
    """Gmail's equivalent forms of one mailbox folded to one (j.an+shop@googlemail.com ->
    jan@gmail.com); other providers' addresses are returned as they are."""
    local, _, domain = address.rpartition("@")
    if domain not in GMAIL_DOMAINS:
        return address
    local = local.split("+", 1)[0].replace(".", "")
    return f"{local}@gmail.com" if local else address


def normalize_email(value: str) -> str:
    """The address as email-validator normalizes it, lower-cased whole (mailboxes are in
    practice case-insensitive), Gmail's forms folded. CustomerError when it is no address."""
    text = value.strip()
    plain = _plain_email(text)
    if plain is not None:
        return fold_mailbox(plain)
    cached = _email_cache.get(text)
    if cached is not None:
        return cached
    try:
        result = validate_email(text, check_deliverability=False)
    except EmailNotValidError as error:
        raise CustomerError(f"e-mail {value!r}: {error}") from error
    normalized = fold_mailbox(result.normalized.lower())
    if len(_email_cache) > 100_000:
        _email_cache.clear()
    _email_cache[text] = normalized
    return normalized


_phone_cache: dict[tuple[str, str], str] = {}


def normalize_phone(value: str, region: str) -> str:
    """The number in E.164; a national number is read in ``region``."""
    cached = _phone_cache.get((value, region))
    if cached is not None:
        return cached
    try:
        number = phonenumbers.parse(value, region or None)
    except phonenumbers.NumberParseException as error:
        raise CustomerError(f"phone {value!r}: {error}") from error
    if not phonenumbers.is_possible_number(number):
        raise CustomerError(f"phone {value!r}: not a possible number in {region or 'any region'}")
    normalized = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    if len(_phone_cache) > 100_000:
        _phone_cache.clear()
    _phone_cache[(value, region)] = normalized
    return normalized


_CARD_NOISE = re.compile(r"[\s\-.]")


def normalize_identifier(kind: str, value: str, channel: str = "", region: str = "") -> str:
    """One identifier's normalized value; CustomerError when it is unusable."""
    text = value.strip()
    if not text:
        raise CustomerError(f"{kind}: empty value")
    if "\x00" in text or len(text) > 300:
        raise CustomerError(f"{kind}: value too long or holds a NUL character")
    if kind == K.EMAIL:
        return normalize_email(text)
    if kind == K.PHONE:
        return normalize_phone(text, region)
    if kind == K.LOYALTY_CARD:
        return _CARD_NOISE.sub("", text).upper()
    if kind == K.DEVICE:
        return text.lower()
    if kind in (K.CHANNEL_CUSTOMER, K.MARKETPLACE_BUYER):
        if not channel:
            raise CustomerError(f"{kind}: a channel-scoped id needs its channel")
        return f"{channel}:{text}"
    raise CustomerError(f"unknown identifier kind {kind!r}")


def region_of(record: CustomerRecord, rules: MergeRules) -> str:
    """The region a national phone number is read in: the record's country in any written
    form ("SE", "SWE", "Sweden", "Sverige"), else the channel's, else the default."""
    code = country_code(record.country) or country_code(record.address.country)
    return code or rules.channel_regions.get(record.channel, rules.default_region)


@dataclass(frozen=True)
class Normalized:
    """A record's usable identifiers and attributes, and what was refused as invalid."""

    identifiers: tuple[tuple[str, str], ...]
    attributes: dict[str, Any]
    invalid: tuple[tuple[str, str, str], ...]  # (kind, raw value, why)


def normalize_record(record: CustomerRecord, rules: MergeRules) -> Normalized:
    """Identifiers and attributes of ``record``, normalized. Invalid identifiers are left out
    and reported, so one bad phone number never loses the rest of an order's customer."""
    if not record.channel or not record.source_ref:
        raise CustomerError("a customer record needs its channel and source_ref")
    region = region_of(record, rules)
    raw = (
        (K.EMAIL, record.email),
        (K.PHONE, record.phone),
        (K.LOYALTY_CARD, record.loyalty_card),
        (K.CHANNEL_CUSTOMER, record.customer_id),
        (K.DEVICE, record.device_id),
        (K.MARKETPLACE_BUYER, record.marketplace_buyer_id),
    )
    identifiers: list[tuple[str, str]] = []
    invalid: list[tuple[str, str, str]] = []
    values: dict[str, str] = {}
    for kind, value in raw:
        if not value or not value.strip():
            continue
        try:
            normalized = normalize_identifier(kind, value, record.channel, region)
        except CustomerError as error:
            invalid.append((kind, value[:300], str(error)))
            continue
        identifiers.append((kind, normalized))
        values[kind] = normalized
    first, last = record.first_name.strip(), record.last_name.strip()
    if not (first or last) and record.name.strip():
        first, last = split_name(record.name)
    birth = record.birth_date.strip()
    if birth:
        try:
            birth = parse_birth_date(birth)
        except ValueError as error:
            invalid.append(("birth_date", birth[:300], str(error)))
            birth = ""
    attributes: dict[str, Any] = {
        "first_name": first,
        "last_name": last,
        "email": values.get(K.EMAIL, ""),
        "email_verified": bool(record.email_verified and K.EMAIL in values),
        "phone": values.get(K.PHONE, ""),
        "loyalty_card": values.get(K.LOYALTY_CARD, ""),
        "birth_date": birth,
        "address": _address(record.address, region) if not record.address.is_empty else None,
    }
    return Normalized(tuple(identifiers), attributes, tuple(invalid))


def _address(address: Address, region: str) -> dict[str, str]:
    values = address.as_dict()
    values["country"] = country_code(address.country) or region
    return values


def record_name_key(attributes: Mapping[str, Any]) -> str | None:
    """The record's name for counting the different people who share a value."""
    first, last = str(attributes.get("first_name") or ""), str(attributes.get("last_name") or "")
    if not (first or last):
        return None
    return name_key(first, last)[:100]


def postcode_key(postal_code: str) -> str | None:
    key = re.sub(r"\s", "", postal_code).upper()
    return key[:40] or None


def birth_key(birth_date: str) -> str | None:
    return birth_date[:40] or None


# --- the identity graph -------------------------------------------------------------------


class UnionFind:
    """Disjoint sets over integers with path halving and union by smallest root: the oldest
    (smallest) id is always the root, so it is the surviving profile."""

    __slots__ = ("parent",)

    def __init__(self) -> None:
        self.parent: dict[int, int] = {}

    def find(self, item: int) -> int:
        parent = self.parent
        root = parent.setdefault(item, item)
        while root != parent[root]:
            parent[root] = parent[parent[root]]
            root = parent[root]
        return root

    def union(self, a: int, b: int) -> int:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return ra
        if rb < ra:
            ra, rb = rb, ra
        self.parent[rb] = ra
        return ra

    def groups(self, items: Iterable[int]) -> dict[int, list[int]]:
        result: dict[int, list[int]] = {}
        for item in items:
            result.setdefault(self.find(item), []).append(item)
        return result


def components(nodes: Iterable[int], edges: Iterable[tuple[int, int]]) -> list[list[int]]:
    """Connected components of ``nodes`` joined by ``edges``, each sorted, smallest first."""
    sets = UnionFind()
    node_list = list(nodes)
    for node in node_list:
        sets.find(node)
    for a, b in edges:
        sets.union(a, b)
    return sorted((sorted(group) for group in sets.groups(node_list).values()), key=lambda g: g[0])


def surname_conflict(kind: str, mine: str, theirs: str, rules: MergeRules) -> str | None:
    """Why a merge on ``kind`` is refused because the surnames differ, or None."""
    return names_conflict(kind, ("", mine), ("", theirs), rules)


def names_conflict(
    kind: str, mine: tuple[str, ...], theirs: tuple[str, ...], rules: MergeRules
) -> str | None:
    """Why a merge on ``kind`` is refused because the names (first, last) differ, or the
    birth dates (an optional third item) do: a father and his son of the same name share a
    landline and an address. None when nothing conflicts."""
    if kind not in rules.name_checked_kinds:
        return None
    why = people_conflict(mine, theirs)
    return None if why is None else f"a {kind} shared by {why}"


def people_conflict(mine: tuple[str, ...], theirs: tuple[str, ...]) -> str | None:
    """Why (first name, last name[, birth date]) of two sides cannot be one person's."""
    why = name_conflict(mine[0], mine[1], theirs[0], theirs[1])
    births = (mine[2], theirs[2]) if len(mine) > 2 and len(theirs) > 2 else ("", "")
    if why is None and all(births) and births[0] != births[1] and not _birth_typo(*births):
        why = f"different birth dates ({births[0]}, {births[1]})"
    return why


def _birth_typo(a: str, b: str) -> bool:
    """ISO dates one digit apart, or with day and month swapped."""
    if len(a) != len(b):
        return False
    if a[:4].isdigit() and b[:4].isdigit() and abs(int(a[:4]) - int(b[:4])) >= 15:
        return False  # a generation apart: a parent and a child, not a typo
    if a[:4] == b[:4] and a[5:7] == b[8:10] and a[8:10] == b[5:7]:
        return True
    return sum(x != y for x, y in zip(a, b, strict=True)) <= 1


def cap_violation(values: Iterable[tuple[str, str]], rules: MergeRules) -> tuple[str, str] | None:
    """``(rule, detail)`` when a profile holding ``values`` would break a guard, else None."""
    distinct = set(values)
    if len(distinct) > rules.max_identifiers_per_profile:
        return (
            "profile_size",
            f"{len(distinct)} identifiers would exceed the maximum of "
            f"{rules.max_identifiers_per_profile} per profile",
        )
    per_kind: dict[str, int] = {}
    for kind, _ in distinct:
        per_kind[kind] = per_kind.get(kind, 0) + 1
    for kind, count in sorted(per_kind.items()):
        cap = rules.identifier_caps.get(kind)
        if cap is not None and count > cap:
            return ("identifier_cap", f"{count} {kind} values would exceed the cap of {cap}")
    return None


# --- golden record ------------------------------------------------------------------------


@dataclass(frozen=True)
class RecordSnapshot:
    """One record of a profile as survivorship sees it."""

    record_id: int
    channel: str
    source_ref: str
    observed_at: datetime
    seen_count: int
    attributes: Mapping[str, Any]

    def source(self) -> dict[str, Any]:
        return {
            "channel": self.channel,
            "record_id": self.record_id,
            "source_ref": self.source_ref,
            "observed_at": self.observed_at.isoformat(),
        }


def _address_key(address: Mapping[str, Any]) -> tuple[str, ...]:
    return tuple(
        re.sub(r"\s+", " ", str(address.get(k, ""))).strip().lower()
        for k in ("line1", "line2", "postal_code", "city", "country")
    )


def golden_of_one(record: RecordSnapshot) -> dict[str, Any]:
    """The golden record of a profile of one record (what ``golden_record`` gives, faster)."""
    source = record.source()
    golden: dict[str, Any] = {}
    attributes = record.attributes
    for name in ("email", "first_name", "last_name", "phone", "loyalty_card"):
        value = attributes.get(name)
        if value:
            golden[name] = {"value": value, "source": source}
    if "email" in golden:
        golden["email"]["verified"] = bool(attributes.get("email_verified"))
    for name in ("address", "birth_date"):
        value = attributes.get(name)
        if value:
            golden[name] = {"value": value, "source": source, "count": max(record.seen_count, 1)}
    return golden


def golden_add(golden: Mapping[str, Any], record: RecordSnapshot) -> dict[str, Any] | None:
    """``golden`` with one new record that is newer than every record behind it, by the same
    rules as ``golden_record``; None when only a recompute can tell (the record is older than
    a source, or brings an address or birth date other than the most frequent one)."""
    out = {k: dict(v) for k, v in golden.items()}
    attributes = record.attributes
    source = record.source()

    def newer(name: str) -> bool:
        current = out.get(name)
        if current is None:
            return True
        return datetime.fromisoformat(current["source"]["observed_at"]) <= record.observed_at

    for name in ("email", "first_name", "last_name", "phone", "loyalty_card"):
        if attributes.get(name) and not newer(name):
            return None
    email = attributes.get("email")
    if email:
        verified = bool(attributes.get("email_verified"))
        if verified or not out.get("email", {}).get("verified"):
            out["email"] = {"value": email, "source": source, "verified": verified}
    for name in ("first_name", "last_name", "phone", "loyalty_card"):
        value = attributes.get(name)
        if value:
            out[name] = {"value": value, "source": source}
    for name in ("address", "birth_date"):
        value = attributes.get(name)
        if not value:
            continue
        current = out.get(name)
        weight = max(record.seen_count, 1)
        if current is None:
            out[name] = {"value": value, "source": source, "count": weight}
            continue
        same = (
            _address_key(value) == _address_key(current["value"])
            if name == "address"
            else value == current["value"]
        )
        if not same or not newer(name):
            return None
        out[name] = {"value": value, "source": source, "count": int(current["count"]) + weight}
    return out


def golden_record(records: Sequence[RecordSnapshot]) -> dict[str, Any]:
    """The best value of each field with its source, by the survivorship rules:

    - email: the most recent verified address, else the most recent one;
    - first_name, last_name, phone, loyalty_card: the most recent non-empty value;
    - address and birth_date: the most frequent value (weighted by how often each record was
      seen), ties going to the most recent.
    """
    if len(records) == 1:
        return golden_of_one(records[0])
    newest_first = sorted(records, key=lambda r: (r.observed_at, r.record_id), reverse=True)
    golden: dict[str, Any] = {}

    def pick(name: str, candidates: Iterable[RecordSnapshot]) -> None:
        for record in candidates:
            value = record.attributes.get(name)
            if value:
                golden[name] = {"value": value, "source": record.source()}
                return

    verified = [r for r in newest_first if r.attributes.get("email_verified")]
    pick("email", verified or newest_first)
    if "email" in golden:
        golden["email"]["verified"] = bool(verified)
    for name in ("first_name", "last_name", "phone", "loyalty_card"):
        pick(name, newest_first)
    for name, key in (("address", _address_key), ("birth_date", None)):
        counts: dict[Any, int] = {}
        first_seen: dict[Any, RecordSnapshot] = {}
        for record in newest_first:
            value = record.attributes.get(name)
            if not value:
                continue
            k = key(value) if key is not None else value
            counts[k] = counts.get(k, 0) + max(record.seen_count, 1)
            first_seen.setdefault(k, record)
        if counts:
            order = list(first_seen)  # newest first: max() keeps the first of equals
            best = max(order, key=lambda k: counts[k])
            winner = first_seen[best]
            golden[name] = {
                "value": winner.attributes[name],
                "source": winner.source(),
                "count": counts[best],
            }
    return golden
