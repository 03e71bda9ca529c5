"""Countries and birth dates as customers and staff write them. Pure.

- ``country_code("Sverige") == "SE"``: ISO 3166 alpha-2 and alpha-3 codes and the country's
  name in English, Dutch, Swedish, German, French, Danish, Norwegian and Finnish, from the
  CLDR data that babel ships (its territory names and territory aliases).
- ``parse_birth_date("18-03-1987") == "1987-03-18"``: ISO 8601, and the day-first forms used
  in the Netherlands and Sweden (18-03-1987, 18.3.1987, 18/03/1987) and year-first ones
  (1987/03/18, 19870318).
"""

from __future__ import annotations

import re
from datetime import date
from functools import lru_cache

from babel import Locale
from babel.core import get_global

#: Languages whose country names are understood.
COUNTRY_NAME_LOCALES = ("en", "nl", "sv", "de", "fr", "da", "nb", "fi")


def _key(text: str) -> str:
    return re.sub(r"[\s.\-_']", "", text.lower())


@lru_cache(maxsize=1)
def _countries() -> dict[str, str]:
    table: dict[str, str] = {}
    aliases = get_global("territory_aliases")
    for alias, targets in aliases.items():
        if len(alias) == 3 and alias.isalpha() and len(targets) == 1 and len(targets[0]) == 2:
            table[_key(alias)] = targets[0]
    for locale in COUNTRY_NAME_LOCALES:
        for code, name in Locale(locale).territories.items():
            if len(code) == 2 and code.isalpha():
                table[_key(code)] = code
                table.setdefault(_key(name), code)
    # Everyday names CLDR spells otherwise.
    table.update({"holland": "NL", "nederland": "NL", "uk": "GB", "england": "GB"})
    return table


def country_code(text: str) -> str:
    """The ISO 3166 alpha-2 code of a written country, or "" when it is not one."""
    if not text or not text.strip():
        return ""
    return _countries().get(_key(text.strip()), "")


_DAY_FIRST = re.compile(r"^(\d{1,2})[-./ ](\d{1,2})[-./ ](\d{4})$")
_YEAR_FIRST = re.compile(r"^(\d{4})[-./ ]?(\d{1,2})[-./ ]?(\d{1,2})$")


def parse_birth_date(text: str) -> str:
    """The ISO 8601 form of a written birth date; ValueError when it is not a real date."""
    value = text.strip()
    day_first = _DAY_FIRST.match(value)
    if day_first:
        day, month, year = (int(g) for g in day_first.groups())
    else:
        year_first = _YEAR_FIRST.match(value)
        if not year_first:
            raise ValueError(f"{text!r} is not a date (ISO 8601, 18-03-1987 or 1987/03/18)")
        year, month, day = (int(g) for g in year_first.groups())
    return date(year, month, day).isoformat()


__all__ = ["country_code", "parse_birth_date"]
