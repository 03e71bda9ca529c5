"""Probabilistic matching of two customers by name, address and birth date. Pure.

Each field's similarity is in [0, 1] (Jaro-Winkler for names and towns, token sort ratio for
the street line, exact-or-one-typo for postcodes and birth dates); the score is their weighted
mean over the fields both sides have, discounted when little evidence is present. Without an
agreeing birth date, a name part that disagrees caps the score (``NAME_FLOOR``): a household
at one address is not one customer. Candidate
pairs come from blocking on the postcode and on the birth date, so the work grows with block
sizes rather than with the square of the customer base.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rapidfuzz import fuzz
from rapidfuzz.distance import JaroWinkler, Levenshtein

from channelhub.customers.names import first_names_agree, fold, surname_key

WEIGHTS = {"name": 0.35, "birth_date": 0.25, "street": 0.2, "postal_code": 0.1, "city": 0.1}
#: Below this much weight of fields present on both sides, the score is scaled down.
MIN_EVIDENCE = 0.6
#: Without an agreeing birth date, each name part must agree at least this much, or the
#: score is no higher than the weaker part's similarity. People sharing an address (a
#: household; a marketplace's default address on its orders) agree on everything but a
#: name, and would otherwise score high enough to be linked.
NAME_FLOOR = 0.75
#: Two first names that cannot be one person's (not a typo, nickname or initial apart, and
#: not the names written swapped) cap the score here, below the default upper threshold,
#: whatever else agrees: a shared birth date raises a score but never links over a conflicting
#: first name (twins share a birth date, an address and a surname). A person may still be
#: asked, since data sets like FEBRL hold real duplicates with replaced first names.
FIRST_NAME_CONFLICT_CAP = 0.79


@dataclass(frozen=True)
class MatchFields:
    """The attributes the matcher compares, lower-cased and trimmed."""

    first_name: str = ""
    last_name: str = ""
    birth_date: str = ""
    street: str = ""
    postal_code: str = ""
    city: str = ""

    @classmethod
    def of(cls, attributes: Mapping[str, Any]) -> MatchFields:
        address = attributes.get("address") or {}
        street = " ".join(str(address.get(k) or "").strip() for k in ("line1", "line2")).strip()
        return cls(
            first_name=fold(str(attributes.get("first_name") or "")),
            last_name=surname_key(str(attributes.get("last_name") or "")),
            birth_date=_clean(attributes.get("birth_date")).replace("-", ""),
            street=_clean(street),
            postal_code=_clean(address.get("postal_code")).replace(" ", ""),
            city=_clean(address.get("city")),
        )

    def blocking_keys(self) -> tuple[str, ...]:
        keys = []
        if self.postal_code:
            keys.append("p:" + self.postal_code)
        if self.birth_date:
            keys.append("b:" + self.birth_date)
        return tuple(keys)


def _clean(value: Any) -> str:
    return " ".join(str(value or "").lower().split())


def _jw(a: str, b: str) -> float:
    return float(JaroWinkler.normalized_similarity(a, b))


def _typo(a: str, b: str) -> float:
    """1 when equal, 0.6 for one edit or a swap of two characters, else 0."""
    if a == b:
        return 1.0
    if len(a) == len(b):
        diffs = [i for i in range(len(a)) if a[i] != b[i]]
        if len(diffs) == 2 and a[diffs[0]] == b[diffs[1]] and a[diffs[1]] == b[diffs[0]]:
            return 0.6
    return 0.6 if Levenshtein.distance(a, b, score_cutoff=1) <= 1 else 0.0


#: Birth years this far apart are a parent and a child, not a typo in one digit.
GENERATION_YEARS = 15


def _birth(a: str, b: str) -> float:
    if a == b:
        return 1.0
    if a[:4].isdigit() and b[:4].isdigit() and abs(int(a[:4]) - int(b[:4])) >= GENERATION_YEARS:
        return 0.0
    if len(a) == len(b) == 8 and a[:4] == b[:4] and a[4:6] == b[6:8] and a[6:8] == b[4:6]:
        return 0.8  # day and month swapped
    return _typo(a, b)


def _weakest_name_part(a: MatchFields, b: MatchFields) -> float:
    """The similarity of the name part that agrees least (first or last name, either way
    round), over the parts both sides have."""
    pairs = [
        (x, y) for x, y in ((a.first_name, b.first_name), (a.last_name, b.last_name)) if x and y
    ]
    straight = min((_jw(x, y) for x, y in pairs), default=1.0)
    if a.first_name and a.last_name and b.first_name and b.last_name:
        swapped = min(_jw(a.first_name, b.last_name), _jw(a.last_name, b.first_name))
        return max(straight, swapped)
    return straight


def _first_names_conflict(a: MatchFields, b: MatchFields) -> bool:
    """Whether the first names disagree (and the names are not merely written swapped)."""
    if not (a.first_name and b.first_name) or first_names_agree(a.first_name, b.first_name):
        return False
    if _jw(a.first_name, b.first_name) >= NAME_FLOOR:
        return False  # a bad typo ("Sophie", "Sopihe"): no conflict, just a lower score
    if a.last_name and b.last_name:
        swapped = _jw(a.first_name, b.last_name) >= 0.85 and _jw(a.last_name, b.first_name) >= 0.85
        return not swapped
    return True


def _name(a: MatchFields, b: MatchFields) -> float | None:
    parts = [
        _jw(x, y) for x, y in ((a.first_name, b.first_name), (a.last_name, b.last_name)) if x and y
    ]
    if not parts:
        return None
    straight = sum(parts) / len(parts)
    if a.first_name and a.last_name and b.first_name and b.last_name:
        swapped = (_jw(a.first_name, b.last_name) + _jw(a.last_name, b.first_name)) / 2
        return max(straight, swapped * 0.95)
    return straight * 0.9  # one name part only: weaker evidence


def score_pair(a: MatchFields, b: MatchFields) -> tuple[float, dict[str, float]]:
    """The match score of two customers in [0, 1], with each field's similarity."""
    details: dict[str, float] = {}
    name = _name(a, b)
    if name is not None:
        details["name"] = name
    if a.birth_date and b.birth_date:
        details["birth_date"] = _birth(a.birth_date, b.birth_date)
    if a.street and b.street:
        details["street"] = fuzz.token_sort_ratio(a.street, b.street) / 100
    if a.postal_code and b.postal_code:
        details["postal_code"] = _typo(a.postal_code, b.postal_code)
    if a.city and b.city:
        details["city"] = _jw(a.city, b.city)
    if "name" not in details:
        return 0.0, details
    weight = sum(WEIGHTS[k] for k in details)
    score = sum(WEIGHTS[k] * v for k, v in details.items()) / weight
    if weight < MIN_EVIDENCE:
        score *= weight / MIN_EVIDENCE
    if details.get("birth_date", 0.0) < 1.0:
        weakest = _weakest_name_part(a, b)
        if weakest < NAME_FLOOR:
            score = min(score, weakest)
    if _first_names_conflict(a, b):
        score = min(score, FIRST_NAME_CONFLICT_CAP)
    return round(score, 4), {k: round(v, 4) for k, v in details.items()}


def candidate_pairs(
    people: Sequence[MatchFields], max_block: int = 500
) -> Iterable[tuple[int, int]]:
    """Index pairs ``(i, j)``, ``i < j``, sharing a blocking key; blocks larger than
    ``max_block`` (a shared postcode of a big building) are skipped as uninformative."""
    blocks: dict[str, list[int]] = {}
    for index, person in enumerate(people):
        for key in person.blocking_keys():
            blocks.setdefault(key, []).append(index)
    seen: set[tuple[int, int]] = set()
    for members in blocks.values():
        if len(members) < 2 or len(members) > max_block:
            continue
        for x in range(len(members)):
            for y in range(x + 1, len(members)):
                pair = (members[x], members[y])
                if pair not in seen:
                    seen.add(pair)
                    yield pair


def match_all(people: Sequence[MatchFields], lower: float) -> list[tuple[int, int, float]]:
    """Every candidate pair scoring at least ``lower``: ``(i, j, score)``."""
    found = []
    for i, j in candidate_pairs(people):
        score, _ = score_pair(people[i], people[j])
        if score >= lower:
            found.append((i, j, score))
    return found
