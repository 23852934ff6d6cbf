"""ISO 4217 minor units: how many decimals each currency's amounts have, so the ledger keeps
integer minor units (cents, yen, fils) and a person reads and types whole amounts.

pycountry names the currencies but not their exponents; the exceptions to "two decimals" are few,
so they are listed here (ISO 4217, list one). Funds, precious metals and testing codes (XAU, XDR,
XTS, ...) are not money a creator is paid in: the ledger does not accept them.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

import pycountry

__all__ = [
    "ACCEPTED",
    "UnsupportedCurrency",
    "exponent",
    "format_minor",
    "from_minor",
    "label",
    "to_minor",
]

_ZERO_DECIMALS = frozenset(
    {"BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG"}
    | {"RWF", "UGX", "UYI", "VND", "VUV", "XAF", "XOF", "XPF"}
)
_THREE_DECIMALS = frozenset({"BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"})
_FOUR_DECIMALS = frozenset({"CLF", "UYW"})
# Units of account, metals, funds and testing codes: ISO gives them no minor unit ("N.A.").
_NOT_MONEY = frozenset(
    {"XAD", "XAG", "XAU", "XBA", "XBB", "XBC", "XBD", "XDR", "XPD", "XPT", "XSU", "XTS", "XUA", "XXX"}
)

ACCEPTED: frozenset[str] = frozenset(c.alpha_3 for c in pycountry.currencies) - _NOT_MONEY

_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥"}


class UnsupportedCurrency(ValueError):
    """A code that is not an ISO 4217 currency the ledger keeps."""


def exponent(currency: str) -> int:
    """Decimals of `currency`'s minor unit: JPY 0, USD 2, BHD 3."""
    if currency not in ACCEPTED:
        raise UnsupportedCurrency(f"{currency!r} is not a currency Veri pays in (an ISO 4217 code such as USD)")
    if currency in _ZERO_DECIMALS:
        return 0
    if currency in _THREE_DECIMALS:
        return 3
    if currency in _FOUR_DECIMALS:
        return 4
    return 2


def to_minor(amount: Decimal | str | int, currency: str) -> int:
    """An amount a person typed (12.5 USD) in minor units (1250). Raises ValueError when it is not
    a finite number or has more decimals than the currency allows (10.005 USD, 1.5 JPY)."""
    try:
        value = Decimal(str(amount).strip()) if not isinstance(amount, Decimal) else amount
    except InvalidOperation:
        raise ValueError("must be a number") from None
    if not value.is_finite():
        raise ValueError("must be a finite number")
    places = exponent(currency)
    scaled = value.scaleb(places)
    if scaled != scaled.to_integral_value():
        allowed = "no decimals" if places == 0 else f"at most {places} decimal{'s' if places > 1 else ''}"
        raise ValueError(f"{currency} amounts have {allowed}")
    return int(scaled)


def from_minor(amount: int, currency: str) -> Decimal:
    """Minor units as the decimal amount they are (1250 USD -> 12.50)."""
    places = exponent(currency)
    return Decimal(amount).scaleb(-places).quantize(Decimal(1).scaleb(-places))


def format_minor(amount: int, currency: str) -> str:
    """The plain decimal string of an amount, for APIs and CSV: "12.50", "1200", "1.250"."""
    return str(from_minor(amount, currency))


def label(amount: int, currency: str) -> str:
    """An amount as a person reads it: "$1,234.50", "¥5,000", "BHD 1.250"."""
    places = exponent(currency)
    text = f"{abs(from_minor(amount, currency)):,.{places}f}"
    sign = "-" if amount < 0 else ""
    symbol = _SYMBOLS.get(currency)
    return f"{sign}{symbol}{text}" if symbol else f"{sign}{currency} {text}"
