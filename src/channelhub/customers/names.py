"""People's names as Dutch and Swedish retail data writes them. Pure.

- Surnames with a particle (tussenvoegsel) in any of their written forms: "van der Rossum",
  "Van Der Rossum", "Rossum, van der" and "Rossum van der" all give the key "vanderrossum".
- Diacritics and the Dutch ij/y are folded for comparison ("Åsa" = "Asa", "Bijl" = "Byl").
- First names agree when they are similar (typos), one is a nickname of the other ("Kees",
  "Cornelis"), or one is an initial of the other ("J." and "Jan").
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from rapidfuzz.distance import JaroWinkler

#: Words that begin a surname ("Sanne de Vries", "Jan van der Berg", "Ludwig von Mises").
SURNAME_PARTICLES = frozenset(
    {"de", "der", "den", "van", "von", "te", "ter", "ten", "het", "'t", "zu", "da", "di",
     "del", "della", "du", "le", "la", "dos", "das", "do", "mac", "bin", "al", "el", "st.",
     "vande", "vanden", "vander", "op", "in", "uit", "aan", "af", "d'"}
)  # fmt: skip

#: Jaro-Winkler similarity from which two names count as the same (typos allowed).
NAME_AGREEMENT = 0.85

#: Dutch, Swedish, German and English short forms, each group one name.
NICKNAME_GROUPS: tuple[frozenset[str], ...] = tuple(
    frozenset(group.split())
    for group in (
        "johannes jan johan hans hannes jo joop",
        "cornelis kees cor corne",
        "hendrik henk hendrikus henry rik",
        "pieter piet peter pit",
        "wilhelmus willem wim wil william bill",
        "jacobus jacob jaap koos jakob",
        "gerardus gerard gert gerrit",
        "antonius anton toon ton",
        "theodorus theo ruud",
        "adrianus adriaan arie aad",
        "franciscus frans",
        "petrus peer",
        "nicolaas klaas niels nils",
        "elisabeth lisa liesbeth els elsa lies betty elisabet",
        "johanna anna anneke hanna jo",
        "catharina katarina karin kajsa katrien trijntje kaatje",
        "margaretha margareta greta maja grietje margriet",
        "wilhelmina willemijn mien mina",
        "christina kristina stina kristin tina",
        "maria marie mia maja",
        "alexander alex sander",
        "robert rob robbie bob",
        "thomas tom",
        "daniel daan dan",
        "samuel sem sam",
        "lucas luuk",
        "abraham bram",
        "benjamin ben",
        "matthias mats mathias",
        "andreas anders andre",
        "gustav gösta gustaf",
        "karl kalle carl",
        "lars lasse",
        "mikael micke michael mike",
        "ingrid inga",
        "annelies anne lies",
        "josephus joost joep",
        "fredrik fredde frederik",
    )
)
_NICKNAMES: dict[str, frozenset[str]] = {}
for _group in NICKNAME_GROUPS:
    for _name in _group:
        _NICKNAMES[_name] = _NICKNAMES.get(_name, frozenset()) | _group


def fold(text: str) -> str:
    """Lower case without diacritics, with the Dutch ij written y and whitespace collapsed."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    plain = plain.replace("ø", "o").replace("æ", "ae").replace("ß", "ss").replace("ij", "y")
    return " ".join(plain.split())


_COMMA_FORM = re.compile(r"^\s*([^,]+?)\s*,\s*(.+?)\s*$")


def surname_key(surname: str) -> str:
    """A surname with its particles, in any written order, as one comparable word:
    "van der Rossum", "Rossum, van der" and "Rossum van der" give "vanderrossum"."""
    text = fold(surname)
    comma = _COMMA_FORM.match(text)
    if comma:  # "rossum, van der": the particles go in front
        head, tail = comma.groups()
        if all(w in SURNAME_PARTICLES for w in tail.split()):
            text = f"{tail} {head}"
    words = re.sub(r"[-'.]", " ", text).split()
    # "Rossum van der": trailing particles written after the name.
    trailing: list[str] = []
    while len(words) > 1 and words[-1] in SURNAME_PARTICLES:
        trailing.insert(0, words.pop())
    return "".join(trailing + words)


def surname_core(surname: str) -> str:
    """The surname without its particles ("van der Rossum" -> "rossum"), for comparisons
    that forgive a dropped particle."""
    text = fold(surname)
    comma = _COMMA_FORM.match(text)
    if comma:
        text = comma.group(1)
    words = [w for w in re.sub(r"[-'.]", " ", text).split() if w not in SURNAME_PARTICLES]
    return "".join(words)


def first_key(first_name: str) -> str:
    """The first of the first names, folded ("Anna-Karin" -> "anna-karin", "J.P." -> "j")."""
    words = fold(first_name).replace(".", " ").split()
    return words[0] if words else ""


def is_initial(text: str) -> bool:
    return len(text) == 1


@lru_cache(maxsize=65_536)
def first_names_agree(a: str, b: str) -> bool:
    """Whether two first names can be one person's: equal after folding, a typo apart, a
    nickname of each other, or one an initial of the other."""
    x, y = first_key(a), first_key(b)
    if not x or not y or x == y:
        return True
    if is_initial(x) or is_initial(y):
        return x[0] == y[0]
    if y in _NICKNAMES.get(x, frozenset()):
        return True
    return float(JaroWinkler.normalized_similarity(x, y)) >= NAME_AGREEMENT


@lru_cache(maxsize=65_536)
def surnames_agree(a: str, b: str) -> bool:
    """Whether two surnames can be one person's (written forms, a dropped particle, a typo)."""
    x, y = surname_key(a), surname_key(b)
    if not x or not y or x == y:
        return True
    cx, cy = surname_core(a), surname_core(b)
    if cx and cx == cy:
        return True
    return float(JaroWinkler.normalized_similarity(x, y)) >= NAME_AGREEMENT


def name_conflict(first_a: str, last_a: str, first_b: str, last_b: str) -> str | None:
    """Why two names cannot be one person's, or None when they agree (or one is missing).
    A name of one word ("Ann" on a marketplace order) may be either part of the other."""
    for (f1, l1), (f2, l2) in (((first_a, last_a), (first_b, last_b)),
                               ((first_b, last_b), (first_a, last_a))):  # fmt: skip
        if not f1 and l1 and len(l1.split()) == 1 and (f2 or l2):
            if (f2 and first_names_agree(l1, f2)) or (l2 and surnames_agree(l1, l2)):
                return None
            return f"different names ({l1!r}, {' '.join(p for p in (f2, l2) if p)!r})"
    if not surnames_agree(last_a, last_b):
        return f"different surnames ({last_a!r}, {last_b!r})"
    if not first_names_agree(first_a, first_b):
        return f"different first names ({first_a!r}, {first_b!r})"
    return None


def name_key(first_name: str, last_name: str) -> str:
    """One key per written name, for counting how many different people share a value:
    the first letter of the first name and the surname's key."""
    first = first_key(first_name)
    return f"{first[:1]}|{surname_core(last_name) or surname_key(last_name)}"


def split_name(name: str) -> tuple[str, str]:
    """A full name as (first names, surname): "Sanne de Vries" -> ("Sanne", "de Vries"),
    "Rossum, van der, Jan" is not guessed; "Vries, Sanne de" -> ("Sanne", "de Vries")."""
    text = " ".join(name.split())
    if "," in text:
        surname, _, rest = text.partition(",")
        words = rest.split()
        particles: list[str] = []
        while words and words[-1].lower() in SURNAME_PARTICLES:
            particles.insert(0, words.pop())
        if words and all(w.lower() in SURNAME_PARTICLES for w in words):
            return "", " ".join([*words, *particles, surname.strip()])
        return " ".join(words), " ".join([*particles, surname.strip()])
    parts = text.split()
    if len(parts) < 2:
        return "", " ".join(parts)
    for index in range(1, len(parts) - 1):
        if parts[index].lower() in SURNAME_PARTICLES:
            return " ".join(parts[:index]), " ".join(parts[index:])
    return " ".join(parts[:-1]), parts[-1]


__all__ = [
    "SURNAME_PARTICLES",
    "first_names_agree",
    "fold",
    "name_conflict",
    "name_key",
    "split_name",
    "surname_core",
    "surname_key",
    "surnames_agree",
]
