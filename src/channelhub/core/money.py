"""Money: a ``Decimal`` amount in one ISO 4217 currency, and the hub's one rounding rule.

**Rounding is half-up** (``ROUND_HALF_UP``: a tie goes away from zero, 22.445 EUR is 22.45
and -22.445 is -22.45), to the currency's digits as babel knows them (2 for EUR, 0 for JPY,
3 for KWD). Why half-up and not half-to-even:

- it is the rule shoppers, merchants and their accountants expect on a price tag or a
  receipt, and the rule the EU prescribes for money (Regulation 1103/97, art. 5: "if the
  application of the conversion rate gives a result which is exactly half-way, the sum
  shall be rounded up");
- the webshops the hub feeds round that way (WooCommerce and Magento use PHP's ``round``,
  half away from zero), so a price the hub computes agrees with the one the shop shows;
- half-to-even only pays off when many rounded values are summed and the bias of ties
  matters (interest, statistics); the hub rounds each price, line and refund once and adds
  exact minor units afterwards, so there is no bias to cancel.

Every module that rounds money calls ``round_money`` (or ``to_minor``, which rounds with it):
pricing, orders, connectors and analytics, so a price cannot round one way on the price list
and another on the order. Amounts that a person or client *gives* are not rounded at all:
``parse_money`` refuses more decimals than the currency has, naming the field.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from babel.numbers import get_currency_precision, is_currency

#: The one rounding mode for money (see the module docstring).
ROUNDING = ROUND_HALF_UP
#: The largest amount the hub accepts, in major units (a trillion).
MAX_AMOUNT = Decimal("1e12")


class MoneyError(ValueError):
    """An amount or currency the hub cannot take, with the reason a person can read."""


@functools.cache
def _digits(currency: str) -> int:
    if not is_currency(currency):
        raise MoneyError(f"{currency!r} is not an ISO 4217 currency code")
    return int(get_currency_precision(currency))


def currency_digits(currency: str) -> int:
    """How many decimals ``currency`` has (2 for EUR, 0 for JPY, 3 for KWD)."""
    return _digits(currency)


def is_known_currency(currency: str) -> bool:
    return bool(is_currency(currency))


def round_money(amount: Decimal, currency: str) -> Decimal:
    """``amount`` rounded half-up to the digits of ``currency``."""
    return amount.quantize(Decimal(1).scaleb(-_digits(currency)), rounding=ROUNDING)


def to_minor(amount: Decimal, currency: str) -> int:
    """``amount`` as an integer count of the currency's minor units (cents for EUR), rounded
    half-up."""
    return int(round_money(amount, currency).scaleb(_digits(currency)))


def from_minor(minor: int, currency: str) -> Decimal:
    """An amount from a count of minor units, with exactly the currency's digits."""
    return round_money(Decimal(minor).scaleb(-_digits(currency)), currency)


def has_currency_digits(amount: Decimal, currency: str) -> bool:
    """Whether ``amount`` needs no rounding in ``currency`` (100.5 JPY does, 100.50 EUR not)."""
    return amount.is_finite() and amount == round_money(amount, currency)


def parse_money(
    value: str | Decimal | int | float, currency: str, field: str = "amount"
) -> Decimal:
    """An amount given as input, checked for ``currency``: a finite number, not negative, below
    ``MAX_AMOUNT``, with no more decimals than the currency has (never rounded silently).

    Raises ``MoneyError`` naming ``field``."""
    if not is_known_currency(currency):
        raise MoneyError(f"{currency!r} is not an ISO 4217 currency code")
    try:
        amount = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except InvalidOperation:
        raise MoneyError(f"{field} {str(value)[:40]!r} is not a number") from None
    if not amount.is_finite():
        raise MoneyError(f"{field} must be a finite number")
    if amount < 0:
        raise MoneyError(f"{field} {amount} is negative")
    if amount >= MAX_AMOUNT:
        raise MoneyError(f"{field} {amount} is too large")
    if not has_currency_digits(amount, currency):
        digits = _digits(currency)
        raise MoneyError(
            f"{field} {amount} has more decimals than {currency} allows ({digits}); "
            "send the amount the customer pays, rounded"
        )
    return round_money(amount, currency)


@dataclass(frozen=True, order=True)
class Money:
    """An amount in one currency, always with exactly the currency's digits."""

    amount: Decimal
    currency: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "amount", round_money(self.amount, self.currency))

    @classmethod
    def of(cls, amount: Decimal | int | str, currency: str) -> Money:
        """``amount`` rounded half-up to ``currency`` (for amounts the hub computed)."""
        return cls(Decimal(amount), currency)

    @classmethod
    def from_minor(cls, minor: int, currency: str) -> Money:
        return cls(from_minor(minor, currency), currency)

    @property
    def minor(self) -> int:
        return to_minor(self.amount, self.currency)

    def __str__(self) -> str:
        return f"{self.amount:f} {self.currency}"


def round_to(amount: Decimal, places: int) -> Decimal:
    """``amount`` rounded half-up to ``places`` decimals, for a platform that takes a fixed
    number of decimals whatever the currency (bol.com's and Amazon's 2, WooCommerce's 4 of a
    unit price); ``round_money`` is the rule where the currency decides."""
    return amount.quantize(Decimal(1).scaleb(-places), rounding=ROUNDING)
