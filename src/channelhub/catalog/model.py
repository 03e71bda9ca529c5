"""Pure catalog rules: attribute values, scopes, inheritance, completeness and workflow.

No I/O here. Values are stored per attribute as a flat mapping from a scope key
(``"<channel>|<locale>"``, ``*`` standing for "any") to the normalized data.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from babel.numbers import get_currency_precision, is_currency

ANY = "*"
CODE_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,99}$")
LOCALE_PATTERN = re.compile(r"^[a-z]{2,3}(_[A-Z]{2})?$")
TEXT_MAX_LENGTH = 255
TEXTAREA_MAX_LENGTH = 65_535

JsonValue = Any


class AttributeType(StrEnum):
    TEXT = "text"
    TEXTAREA = "textarea"
    NUMBER = "number"
    BOOLEAN = "boolean"
    SELECT = "select"
    MULTISELECT = "multiselect"
    PRICE = "price"
    MEDIA = "media"
    DATE = "date"
    MEASUREMENT = "measurement"
    IDENTIFIER = "identifier"


class IdentifierKind(StrEnum):
    GTIN = "gtin"
    MPN = "mpn"
    OTHER = "other"


class ChannelKind(StrEnum):
    WEBSHOP = "webshop"
    MARKETPLACE = "marketplace"
    STORE = "store"
    APP = "app"
    FEED = "feed"
    SOCIAL = "social"


class ChannelMode(StrEnum):
    INDEPENDENT = "independent"
    INTEGRATED = "integrated"


class ProductKind(StrEnum):
    SIMPLE = "simple"
    MODEL = "model"
    VARIANT = "variant"


class Status(StrEnum):
    DRAFT = "draft"
    IN_REVIEW = "in_review"
    APPROVED = "approved"
    ARCHIVED = "archived"


TRANSITIONS: Mapping[Status, frozenset[Status]] = {
    Status.DRAFT: frozenset({Status.IN_REVIEW, Status.ARCHIVED}),
    Status.IN_REVIEW: frozenset({Status.APPROVED, Status.DRAFT, Status.ARCHIVED}),
    Status.APPROVED: frozenset({Status.DRAFT, Status.IN_REVIEW, Status.ARCHIVED}),
    Status.ARCHIVED: frozenset({Status.DRAFT}),
}


def can_transition(current: Status, target: Status) -> bool:
    """Whether the workflow allows moving a product from ``current`` to ``target``."""
    return target == current or target in TRANSITIONS[current]


class RuleKind(StrEnum):
    REQUIRED = "required"
    MAX_LENGTH = "max_length"
    MIN_LENGTH = "min_length"
    ALLOWED_VALUES = "allowed_values"
    MIN_ITEMS = "min_items"
    MAX_ITEMS = "max_items"
    VALID_GTIN = "valid_gtin"
    MIN_VALUE = "min_value"
    MAX_VALUE = "max_value"


class InvalidValue(ValueError):
    """A value that does not fit its attribute; the message says why."""


@dataclass(frozen=True)
class Attribute:
    code: str
    type: AttributeType
    localizable: bool = False
    scopable: bool = False
    labels: Mapping[str, str] = field(default_factory=dict)
    options: tuple[str, ...] = ()
    max_length: int | None = None
    units: tuple[str, ...] = ()
    identifier_kind: IdentifierKind | None = None

    def length_limit(self) -> int | None:
        if self.max_length is not None:
            return self.max_length
        if self.type is AttributeType.TEXT:
            return TEXT_MAX_LENGTH
        if self.type is AttributeType.TEXTAREA:
            return TEXTAREA_MAX_LENGTH
        return None


@dataclass(frozen=True)
class Family:
    code: str
    attributes: tuple[str, ...]
    required: tuple[str, ...] = ()
    variant_axes: tuple[str, ...] = ()
    labels: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Requirement:
    """One rule a channel sets on an attribute, for one family or all, in some or all locales."""

    attribute: str
    rule: RuleKind
    param: JsonValue = None
    locales: frozenset[str] | None = None
    family: str | None = None

    def describe(self) -> str:
        return self.rule.value if self.param is None else f"{self.rule.value}={self.param}"


@dataclass(frozen=True)
class Missing:
    attribute: str
    rule: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"attribute": self.attribute, "rule": self.rule, "message": self.message}


@dataclass(frozen=True)
class Completeness:
    channel: str
    locale: str
    required: int
    satisfied: int
    missing: tuple[Missing, ...]

    @property
    def is_complete(self) -> bool:
        return self.satisfied == self.required

    @property
    def ratio(self) -> int:
        """Percentage of the channel's rules met, rounded down (100 only when complete)."""
        if self.required == 0:
            return 100
        return self.satisfied * 100 // self.required


# --- scopes -------------------------------------------------------------------------------


def scope_key(channel: str | None, locale: str | None) -> str:
    return f"{channel or ANY}|{locale or ANY}"


def split_scope(key: str) -> tuple[str | None, str | None]:
    channel, _, locale = key.partition("|")
    return (None if channel == ANY else channel, None if locale == ANY else locale)


def check_scope(attribute: Attribute, channel: str | None, locale: str | None) -> None:
    """Raise if a value of ``attribute`` cannot be held at this scope."""
    if attribute.localizable and locale is None:
        raise InvalidValue(f"{attribute.code} is localizable: give a locale")
    if not attribute.localizable and locale is not None:
        raise InvalidValue(f"{attribute.code} is not localizable: give no locale")
    if attribute.scopable and channel is None:
        raise InvalidValue(f"{attribute.code} is scopable per channel: give a channel")


def effective_values(
    own: Mapping[str, Mapping[str, JsonValue]],
    inherited: Mapping[str, Mapping[str, JsonValue]] | None,
) -> dict[str, dict[str, JsonValue]]:
    """A variant's values over its model's: the variant wins per attribute and scope.

    Without a model the product's own mapping is returned as it is: callers only read it.
    """
    if not inherited:
        return own  # type: ignore[return-value]
    merged = {code: dict(scopes) for code, scopes in inherited.items()}
    for code, scopes in own.items():
        merged.setdefault(code, {}).update(scopes)
    return merged


def resolve(
    values: Mapping[str, Mapping[str, JsonValue]], attribute: str, channel: str, locale: str | None
) -> JsonValue:
    """The value a channel shows for one attribute in one locale: channel override first."""
    scopes = values.get(attribute)
    if not scopes:
        return None
    loc = locale or ANY
    found = scopes.get(f"{channel}|{loc}")
    if found is None:
        found = scopes.get(f"{ANY}|{loc}")
    if found is None and locale is not None:
        found = scopes.get(f"{channel}|{ANY}")
        if found is None:
            found = scopes.get(f"{ANY}|{ANY}")
    return found


# --- value parsing and validation ---------------------------------------------------------

MAX_EXPONENT = 100
MAX_DIGITS = 28  # the decimal context's precision: more would be rounded by normalize()
_TRUE = {"1", "true", "yes", "y"}
_FALSE = {"0", "false", "no", "n"}


def _decimal(text: str, what: str) -> Decimal:
    try:
        number = Decimal(text.strip())
    except InvalidOperation:
        raise InvalidValue(f"{what} {text!r} is not a number") from None
    if not number.is_finite():
        raise InvalidValue(f"{what} {text!r} is not a finite number")
    # Bounded so that normalizing neither overflows (1e99999999999) nor rounds silently.
    if number and not -MAX_EXPONENT <= number.adjusted() <= MAX_EXPONENT:
        raise InvalidValue(f"{what} {text[:40]!r} is out of range (1e-100 to 1e100)")
    if len("".join(map(str, number.as_tuple().digits)).strip("0")) > MAX_DIGITS:
        raise InvalidValue(f"{what} {text[:40]!r} has more than {MAX_DIGITS} significant digits")
    return number


def _plain(number: Decimal) -> str:
    text = format(number.normalize(), "f")
    return "0" if text in {"-0", ""} else text


def parse_text_value(attribute: Attribute, text: str) -> JsonValue:
    """Turn a CSV cell into data for ``attribute`` (callers handle empty cells)."""
    kind = attribute.type
    if kind in (AttributeType.MULTISELECT, AttributeType.MEDIA):
        return [part.strip() for part in text.split(",") if part.strip()]
    if kind is AttributeType.BOOLEAN:
        lowered = text.strip().lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise InvalidValue(f"{text!r} is not a boolean (use true or false)")
    if kind is AttributeType.PRICE:
        prices = []
        for part in text.split(","):
            pieces = part.split()
            if len(pieces) != 2:
                raise InvalidValue(f"price {part.strip()!r} must read '<amount> <currency>'")
            prices.append({"amount": pieces[0], "currency": pieces[1]})
        return prices
    if kind is AttributeType.MEASUREMENT:
        pieces = text.split()
        if len(pieces) != 2:
            raise InvalidValue(f"measurement {text!r} must read '<amount> <unit>'")
        return {"amount": pieces[0], "unit": pieces[1]}
    if kind is AttributeType.TEXTAREA:
        return text
    return text.strip()


def normalize_value(attribute: Attribute, data: JsonValue) -> JsonValue:
    """Check ``data`` against the attribute's type and return its stored form."""
    kind = attribute.type
    code = attribute.code
    if kind in (AttributeType.TEXT, AttributeType.TEXTAREA):
        if not isinstance(data, str):
            raise InvalidValue(f"{code} takes text, got {type(data).__name__}")
        limit = attribute.length_limit()
        if limit is not None and len(data) > limit:
            raise InvalidValue(f"{code} is {len(data)} characters long, the limit is {limit}")
        if kind is AttributeType.TEXT and ("\n" in data or "\r" in data):
            raise InvalidValue(f"{code} is single-line text and may not hold line breaks")
        return data
    if kind is AttributeType.NUMBER:
        if isinstance(data, bool) or not isinstance(data, int | float | str):
            raise InvalidValue(f"{code} takes a number, got {type(data).__name__}")
        return _plain(_decimal(str(data), code))
    if kind is AttributeType.BOOLEAN:
        if not isinstance(data, bool):
            raise InvalidValue(f"{code} takes true or false, got {data!r}")
        return data
    if kind is AttributeType.SELECT:
        if not isinstance(data, str):
            raise InvalidValue(f"{code} takes an option code, got {type(data).__name__}")
        if data not in attribute.options:
            raise InvalidValue(
                f"{data!r} is not an option of {code} ({', '.join(attribute.options)})"
            )
        return data
    if kind is AttributeType.MULTISELECT:
        if not isinstance(data, list) or not all(isinstance(x, str) for x in data):
            raise InvalidValue(f"{code} takes a list of option codes")
        unknown = [x for x in data if x not in attribute.options]
        if unknown:
            raise InvalidValue(f"{', '.join(map(repr, unknown))} not an option of {code}")
        return list(dict.fromkeys(data))
    if kind is AttributeType.MEDIA:
        if not isinstance(data, list) or not all(isinstance(x, str) and x for x in data):
            raise InvalidValue(f"{code} takes a list of media references")
        too_long = [x for x in data if len(x) > 2000]
        if too_long:
            raise InvalidValue(f"{code}: a media reference is longer than 2000 characters")
        return list(dict.fromkeys(data))
    if kind is AttributeType.DATE:
        if not isinstance(data, str):
            raise InvalidValue(f"{code} takes a date as YYYY-MM-DD")
        try:
            return date.fromisoformat(data.strip()).isoformat()
        except ValueError:
            raise InvalidValue(f"{data!r} is not a date (YYYY-MM-DD)") from None
    if kind is AttributeType.PRICE:
        return _normalize_prices(code, data)
    if kind is AttributeType.MEASUREMENT:
        return _normalize_measurement(attribute, data)
    if kind is AttributeType.IDENTIFIER:
        if not isinstance(data, str) or not data.strip():
            raise InvalidValue(f"{code} takes an identifier as text")
        value = data.strip()
        if len(value) > 100:
            raise InvalidValue(f"{code} is longer than 100 characters")
        if attribute.identifier_kind is IdentifierKind.GTIN:
            if not is_valid_gtin(value):
                raise InvalidValue(
                    f"{value!r} is not a valid GTIN (8, 12, 13 or 14 digits with check digit)"
                )
            return value
        return value
    raise InvalidValue(f"{code} has an unknown type {kind}")  # pragma: no cover


def _normalize_prices(code: str, data: JsonValue) -> list[dict[str, str]]:
    if not isinstance(data, list):
        raise InvalidValue(f"{code} takes a list of {{amount, currency}}")
    prices: dict[str, str] = {}
    for item in data:
        if not isinstance(item, dict) or set(item) != {"amount", "currency"}:
            raise InvalidValue(f"{code}: each price is {{amount, currency}}")
        currency = item["currency"]
        if not isinstance(currency, str) or not is_currency(currency):
            raise InvalidValue(f"{code}: {currency!r} is not an ISO 4217 currency")
        amount_raw = item["amount"]
        if isinstance(amount_raw, bool) or not isinstance(amount_raw, int | float | str):
            raise InvalidValue(f"{code}: amount must be a number")
        amount = _decimal(str(amount_raw), f"{code} amount")
        if amount < 0:
            raise InvalidValue(f"{code}: amount {amount} is negative")
        if amount >= Decimal("1e12"):
            raise InvalidValue(f"{code}: amount {amount} is too large")
        digits = get_currency_precision(currency)
        quantum = Decimal(1).scaleb(-digits)
        if amount != amount.quantize(quantum):
            raise InvalidValue(f"{code}: {currency} has {digits} decimals, {amount} has more")
        if currency in prices:
            raise InvalidValue(f"{code}: currency {currency} given twice")
        prices[currency] = str(amount.quantize(quantum))
    return [{"amount": a, "currency": c} for c, a in sorted(prices.items())]


def _normalize_measurement(attribute: Attribute, data: JsonValue) -> dict[str, str]:
    code = attribute.code
    if not isinstance(data, dict) or set(data) != {"amount", "unit"}:
        raise InvalidValue(f"{code} takes {{amount, unit}}")
    unit = data["unit"]
    if not isinstance(unit, str) or not unit:
        raise InvalidValue(f"{code}: unit must be text")
    if attribute.units and unit not in attribute.units:
        raise InvalidValue(f"{code}: unit {unit!r} is not one of {', '.join(attribute.units)}")
    amount_raw = data["amount"]
    if isinstance(amount_raw, bool) or not isinstance(amount_raw, int | float | str):
        raise InvalidValue(f"{code}: amount must be a number")
    return {"amount": _plain(_decimal(str(amount_raw), f"{code} amount")), "unit": unit}


def is_valid_gtin(value: str) -> bool:
    """GTIN-8, -12 (UPC), -13 (EAN) or -14 with a correct GS1 mod-10 check digit.

    Written out rather than calling python-stdnum because it runs for every product of an
    import; the tests check it agrees with ``stdnum.ean.is_valid`` on every input.
    """
    compact = value.strip()
    if len(compact) not in (8, 12, 13, 14) or not (compact.isascii() and compact.isdigit()):
        return False
    digits = [ord(c) - 48 for c in compact]
    odd = sum(digits[-2::-2])  # positions 1, 3, 5... counted from the check digit's left
    even = sum(digits[-3::-2])
    return (odd * 3 + even + digits[-1]) % 10 == 0


def is_empty(data: JsonValue) -> bool:
    return data is None or data == "" or data == [] or data == {}


# --- completeness -------------------------------------------------------------------------


def _length(data: JsonValue) -> int | None:
    if isinstance(data, str):
        return len(data)
    return None


def _items(data: JsonValue) -> int:
    if isinstance(data, list):
        return len(data)
    return 0 if is_empty(data) else 1


def _numeric(data: JsonValue) -> Decimal | None:
    raw = data.get("amount") if isinstance(data, dict) else data
    if isinstance(raw, int | str) and not isinstance(raw, bool):
        try:
            return Decimal(str(raw))
        except InvalidOperation:
            return None
    return None


def check_rule(requirement: Requirement, data: JsonValue, where: str) -> str | None:
    """None when ``data`` meets the rule, else a message naming the attribute and the rule."""
    code = requirement.attribute
    rule = requirement.rule
    param = requirement.param
    if rule is RuleKind.REQUIRED:
        return f"{code}{where} is required" if is_empty(data) else None
    if rule is RuleKind.MIN_ITEMS:
        count = _items(data)
        return (
            f"{code}{where} has {count} item(s), at least {param} needed" if count < param else None
        )
    if is_empty(data):
        return None  # only presence rules judge a missing value
    if rule is RuleKind.MAX_LENGTH:
        size = _length(data)
        if size is not None and size > param:
            return f"{code}{where} is {size} characters, at most {param} allowed"
        return None
    if rule is RuleKind.MIN_LENGTH:
        size = _length(data)
        if size is not None and size < param:
            return f"{code}{where} is {size} characters, at least {param} needed"
        return None
    if rule is RuleKind.ALLOWED_VALUES:
        chosen = data if isinstance(data, list) else [data]
        bad = [str(x) for x in chosen if x not in param]
        return f"{code}{where} has {', '.join(bad)}, not allowed here" if bad else None
    if rule is RuleKind.MAX_ITEMS:
        count = _items(data)
        return (
            f"{code}{where} has {count} item(s), at most {param} allowed" if count > param else None
        )
    if rule is RuleKind.VALID_GTIN:
        ok = isinstance(data, str) and is_valid_gtin(data)
        return None if ok else f"{code}{where} {data!r} is not a valid GTIN"
    if rule in (RuleKind.MIN_VALUE, RuleKind.MAX_VALUE):
        number = _numeric(data)
        limit = Decimal(str(param))
        if number is None:
            return f"{code}{where} is not a number"
        if rule is RuleKind.MIN_VALUE and number < limit:
            return f"{code}{where} is {number}, at least {limit} needed"
        if rule is RuleKind.MAX_VALUE and number > limit:
            return f"{code}{where} is {number}, at most {limit} allowed"
        return None
    return None  # pragma: no cover


@dataclass(frozen=True)
class ChannelRules:
    """A channel's requirements, ready to judge products of any family."""

    channel: str
    locales: tuple[str, ...]
    requirements: tuple[Requirement, ...]

    def for_family(self, family: Family | None) -> list[Requirement]:
        family_code = family.code if family else None
        rules = [
            Requirement(code, RuleKind.REQUIRED) for code in (family.required if family else ())
        ]
        rules.extend(r for r in self.requirements if r.family is None or r.family == family_code)
        # The same rule from the family and the channel (or a family-specific copy) counts once.
        unique: dict[tuple[str, RuleKind, str, frozenset[str] | None], Requirement] = {}
        for rule in rules:
            unique.setdefault((rule.attribute, rule.rule, repr(rule.param), rule.locales), rule)
        return list(unique.values())


Judge = Callable[[JsonValue], "str | None"]


@dataclass(frozen=True)
class Check:
    """One requirement ready to run: where to look for the value, and how to judge it."""

    requirement: Requirement
    keys: tuple[str, ...]
    judge: Judge
    described: str


CompiledRules = tuple[tuple[str, tuple[Check, ...]], ...]


def _judge(requirement: Requirement, where: str, known: bool) -> Judge:
    """A function of the value alone that returns None or the message (hot path of imports)."""
    code = requirement.attribute
    rule = requirement.rule
    param = requirement.param
    suffix = "" if known else " (no such attribute in the catalog)"
    if rule is RuleKind.REQUIRED:
        missing = f"{code}{where} is required{suffix}"
        return lambda data: missing if is_empty(data) else None
    if rule is RuleKind.MAX_LENGTH:

        def max_length(data: JsonValue) -> str | None:
            if isinstance(data, str) and len(data) > param:
                return f"{code}{where} is {len(data)} characters, at most {param} allowed{suffix}"
            return None

        return max_length
    if rule is RuleKind.VALID_GTIN:

        def valid_gtin(data: JsonValue) -> str | None:
            if is_empty(data) or (isinstance(data, str) and is_valid_gtin(data)):
                return None
            return f"{code}{where} {data!r} is not a valid GTIN{suffix}"

        return valid_gtin

    def general(data: JsonValue) -> str | None:
        message = check_rule(requirement, data, where)
        return None if message is None else message + suffix

    return general


def _always_valid(data: JsonValue) -> str | None:
    return None


def compile_rules(
    channel_rules: ChannelRules,
    family: Family | None,
    attributes: Mapping[str, Attribute],
    rules: Sequence[Requirement] | None = None,
) -> CompiledRules:
    """Per locale of the channel, the checks to run, with each value's lookup keys resolved."""
    rules = channel_rules.for_family(family) if rules is None else rules
    channel = channel_rules.channel
    compiled = []
    for locale in channel_rules.locales:
        checks = []
        for requirement in rules:
            if requirement.locales is not None and locale not in requirement.locales:
                continue
            attribute = attributes.get(requirement.attribute)
            localizable = attribute.localizable if attribute else False
            if localizable:
                keys: tuple[str, ...] = (f"{channel}|{locale}", f"{ANY}|{locale}")
            else:
                keys = (f"{channel}|{ANY}", f"{ANY}|{ANY}")
            where = f" ({locale})" if localizable else ""
            if (
                requirement.rule is RuleKind.VALID_GTIN
                and attribute is not None
                and attribute.identifier_kind is IdentifierKind.GTIN
            ):
                judge: Judge = _always_valid  # a GTIN attribute only ever stores valid GTINs
            else:
                judge = _judge(requirement, where, attribute is not None)
            checks.append(Check(requirement, keys, judge, requirement.describe()))
        compiled.append((locale, tuple(checks)))
    return tuple(compiled)


LocaleResult = tuple[str, int, int, list[dict[str, str]]]


def completeness_of(
    values: Mapping[str, Mapping[str, JsonValue]], compiled: CompiledRules
) -> list[LocaleResult]:
    """Run compiled checks over one product's effective values.

    Returns (locale, required, satisfied, missing) per locale, missing as
    ``{"attribute", "rule", "message"}`` dicts.
    """
    results = []
    for locale, checks in compiled:
        missing: list[dict[str, str]] = []
        for check in checks:
            scopes = values.get(check.requirement.attribute)
            data = None
            if scopes:
                for key in check.keys:
                    data = scopes.get(key)
                    if data is not None:
                        break
            message = check.judge(data)
            if message is not None:
                missing.append(
                    {
                        "attribute": check.requirement.attribute,
                        "rule": check.described,
                        "message": message,
                    }
                )
        counted = len(checks)
        results.append((locale, counted, counted - len(missing), missing))
    return results


def compute_completeness(
    values: Mapping[str, Mapping[str, JsonValue]],
    family: Family | None,
    channel_rules: ChannelRules,
    attributes: Mapping[str, Attribute],
    rules: Sequence[Requirement] | None = None,
) -> list[Completeness]:
    """Completeness of one product for each locale of one channel, with what is missing."""
    compiled = compile_rules(channel_rules, family, attributes, rules)
    return [
        Completeness(
            channel_rules.channel,
            locale,
            required,
            satisfied,
            tuple(Missing(m["attribute"], m["rule"], m["message"]) for m in missing),
        )
        for locale, required, satisfied, missing in completeness_of(values, compiled)
    ]


def search_text(
    sku: str, values: Mapping[str, Mapping[str, JsonValue]], attributes: Mapping[str, Attribute]
) -> str:
    """Lower-cased text that free-text search looks in: the SKU and every text value."""
    parts = [sku]
    for code, scopes in values.items():
        attribute = attributes.get(code)
        if attribute is None or attribute.type not in (
            AttributeType.TEXT,
            AttributeType.IDENTIFIER,
            AttributeType.SELECT,
        ):
            continue
        parts.extend(str(v) for v in scopes.values() if isinstance(v, str))
    return " ".join(parts).lower()[:2000]
