"""A deterministic Dutch and Swedish retail customer base with the traps of real data.

People live in households (partners, children, twins, a son with his father's first name)
that share an address, often a landline, sometimes a family e-mail address, a loyalty card or
a tablet. Each person shows up in one to six channels (webshop account, app, store till,
bol.com, Amazon, newsletter) written the way each channel writes: Dutch and Swedish phone
forms, day-first and year-first birth dates, "Rossum, van der" and lost diacritics, country
names in three languages, Gmail dots and +tags. Tills type fillers (the store's own number,
geen@email.nl, 0612345678) when a customer gives none. Some people moved or married and
changed their surname between records.

Each record comes with its person id, household id and the traps it carries, so a clustering
can be scored per trap. Used by ``identity_resolution.py``.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from channelhub.customers.model import Address, CustomerRecord

NL_FIRST_F = [
    "anna",
    "emma",
    "sophie",
    "julia",
    "lisa",
    "sara",
    "eva",
    "lotte",
    "noor",
    "fleur",
    "sanne",
    "iris",
    "femke",
    "maaike",
    "ingrid",
    "marieke",
    "annelies",
    "willemijn",
    "esther",
    "linda",
]
NL_FIRST_M = [
    "daan",
    "sem",
    "lucas",
    "milan",
    "levi",
    "luuk",
    "bram",
    "thomas",
    "jesse",
    "finn",
    "ruben",
    "tim",
    "jan",
    "piet",
    "kees",
    "henk",
    "joost",
    "willem",
    "gerrit",
    "hendrik",
]
SE_FIRST_F = [
    "åsa",
    "märta",
    "linnéa",
    "astrid",
    "ebba",
    "maja",
    "elin",
    "saga",
    "klara",
    "ingrid",
    "karin",
    "kristina",
    "britt",
    "sofie",
    "ida",
]
SE_FIRST_M = [
    "björn",
    "göran",
    "örjan",
    "lars",
    "anders",
    "mikael",
    "johan",
    "erik",
    "nils",
    "gustav",
    "oskar",
    "henrik",
    "magnus",
    "per",
    "olof",
]
NL_LAST = [
    "de Jong", "Jansen", "de Vries", "van den Berg", "van Dijk", "Bakker", "Janssen", "Visser",
    "Smit", "Meijer", "de Boer", "Mulder", "de Groot", "Bos", "Vos", "Peters", "Hendriks",
    "van Leeuwen", "Dekker", "Brouwer", "de Wit", "Dijkstra", "van der Rossum", "de Graaf",
    "van der Meer", "Kok", "Jacobs", "de Haan", "Vermeulen", "van den Heuvel", "Bijl", "Wijnands",
    "van 't Hof", "ter Horst", "IJzerman", "van der Linden", "Kuijpers", "Huijsman",
]  # fmt: skip
SE_LAST = [
    "Andersson", "Johansson", "Karlsson", "Nilsson", "Eriksson", "Larsson", "Olsson",
    "Persson", "Svensson", "Gustafsson", "Lindström", "Åberg", "Öberg", "Bergström",
    "Sjögren", "Lindqvist", "Hägglund", "Ström", "Lundgren", "Ekström", "Holmgren", "Näslund",
]  # fmt: skip
NL_STREETS = [
    "Kerkstraat",
    "Schoolstraat",
    "Molenweg",
    "Dorpsstraat",
    "Stationsweg",
    "Julianalaan",
    "Beukenlaan",
    "Lindelaan",
    "Parallelweg",
    "Prinses Beatrixstraat",
]
SE_STREETS = [
    "Storgatan",
    "Kungsgatan",
    "Drottninggatan",
    "Skolgatan",
    "Järnvägsgatan",
    "Östra Långgatan",
    "Sveavägen",
    "Björkvägen",
]
NL_CITIES = [
    "Utrecht",
    "Amsterdam",
    "Rotterdam",
    "Den Haag",
    "Eindhoven",
    "Groningen",
    "Tilburg",
    "Almere",
    "Breda",
    "Zwolle",
]
SE_CITIES = ["Stockholm", "Göteborg", "Malmö", "Uppsala", "Västerås", "Örebro", "Linköping", "Umeå"]
DOMAINS = {
    "NL": ["gmail.com", "hotmail.com", "outlook.com", "ziggo.nl", "kpnmail.nl", "icloud.com"],
    "SE": ["gmail.com", "hotmail.com", "outlook.com", "telia.com", "live.se", "icloud.com"],
}
COUNTRY_FORMS = {
    "NL": ["NL", "NL", "Nederland", "Netherlands", "NLD", "Holland"],
    "SE": ["SE", "SE", "Sverige", "Sweden", "SWE", "Zweden"],
}
#: The retailer's stores: their own numbers are what a till clerk types for "no phone".
STORE_PHONES = ["030 234 5670", "020 765 4320", "010 432 1090", "08-550 123 40", "031-701 22 30"]
FILLER_EMAILS = ["geen@email.nl", "ingen@mail.se", "noemail@noemail.com", "geen@geen.nl", "x@x.nl"]
FILLER_PHONES = ["0000000000", "0612345678", "0600000000", "070-1234567"]
CHANNELS = ["web", "app", "pos", "bol", "amazon", "newsletter"]
EPOCH = datetime(2024, 1, 1, tzinfo=UTC)
TRAPS = (
    "filler",
    "household",
    "family_email",
    "shared_card",
    "shared_device",
    "landline",
    "twin",
    "parent_child",
    "name_change",
    "address_change",
    "swedish",
    "gmail_form",
)


@dataclass
class Home:
    id: int
    country: str
    address: Address
    landline: str = ""
    family_email: str = ""
    card: str = ""
    tablet: str = ""


@dataclass
class Person:
    id: int
    home: Home
    first: str
    last: str
    birth: date
    email: str
    mobile: str
    card: str
    device: str
    traps: set[str] = field(default_factory=set)
    old_last: str = ""
    old_address: Address | None = None


def _address(rng: random.Random, country: str) -> Address:
    number = 1 + rng.randrange(180)
    if country == "NL":
        letters = chr(65 + rng.randrange(26)) + chr(65 + rng.randrange(26))
        postcode = f"{1000 + rng.randrange(9000)} {letters}"
        return Address(f"{rng.choice(NL_STREETS)} {number}", "", postcode, rng.choice(NL_CITIES))
    postcode = f"{10000 + rng.randrange(90000)}"
    postcode = f"{postcode[:3]} {postcode[3:]}"
    return Address(f"{rng.choice(SE_STREETS)} {number}", "", postcode, rng.choice(SE_CITIES))


def _mobile(rng: random.Random, country: str) -> str:
    if country == "NL":
        return f"06{rng.randrange(20_000_000, 99_999_999)}"
    return f"07{rng.choice('0236')}{rng.randrange(2_000_000, 9_999_999)}"


def _landline(rng: random.Random, country: str) -> str:
    if country == "NL":
        return f"0{rng.choice(['30', '20', '10', '40', '50'])}{rng.randrange(2_000_000, 9_999_999)}"
    return f"0{rng.choice(['8', '31', '40', '18'])}{rng.randrange(200_000, 999_999)}"


def _plain(text: str) -> str:
    return (
        text.lower()
        .replace("å", "a")
        .replace("ä", "a")
        .replace("ö", "o")
        .replace("é", "e")
        .replace(" ", "")
        .replace("'", "")
    )


def _email(rng: random.Random, first: str, last: str, country: str, serial: int) -> str:
    local = rng.choice(
        [f"{_plain(first)}.{_plain(last)}", f"{_plain(first)[0]}{_plain(last)}", _plain(first)]
    )
    return f"{local}{serial % 1000 if rng.random() < 0.6 else ''}@{rng.choice(DOMAINS[country])}"


def _birth(rng: random.Random, start: int, end: int) -> date:
    return date(start, 1, 1) + timedelta(days=rng.randrange((end - start) * 365))


class Generator:
    """People in homes, and their records as channels write them."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.next_person = 0
        self.next_home = 0
        self.emails: set[str] = set()

    def _first(self, country: str, female: bool) -> str:
        pools = {
            ("NL", True): NL_FIRST_F,
            ("NL", False): NL_FIRST_M,
            ("SE", True): SE_FIRST_F,
            ("SE", False): SE_FIRST_M,
        }
        return self.rng.choice(pools[(country, female)]).title()

    def _person(self, home: Home, first: str, last: str, birth: date) -> Person:
        rng = self.rng
        self.next_person += 1
        pid = self.next_person
        email = _email(rng, first, last, home.country, pid)
        while email in self.emails:  # a mailbox has one owner
            local, domain = email.split("@")
            email = f"{local}{rng.randrange(10)}@{domain}"
        self.emails.add(email)
        person = Person(
            pid,
            home,
            first,
            last,
            birth,
            email,
            _mobile(rng, home.country),
            f"{4000000 + pid * 7:010d}",
            f"{rng.getrandbits(64):016x}",
        )
        if home.country == "SE":
            person.traps.add("swedish")
        return person

    def household(self) -> list[Person]:
        """One home and the people in it."""
        rng = self.rng
        self.next_home += 1
        country = "SE" if rng.random() < 0.35 else "NL"
        home = Home(self.next_home, country, _address(rng, country))
        lasts = NL_LAST if country == "NL" else SE_LAST
        size = rng.choices([1, 2, 3, 4], weights=[40, 30, 15, 15])[0]
        adult = self._person(
            home,
            self._first(country, rng.random() < 0.5),
            rng.choice(lasts),
            _birth(rng, 1950, 1995),
        )
        people = [adult]
        if size >= 2:
            same_last = rng.random() < 0.5
            partner = self._person(
                home,
                self._first(country, rng.random() < 0.5),
                adult.last if same_last else rng.choice(lasts),
                _birth(rng, 1950, 1995),
            )
            people.append(partner)
        kids = size - 2
        if kids > 0:
            born = _birth(rng, max(adult.birth.year + 20, 1975), max(adult.birth.year + 40, 2008))
            twins = kids >= 2 and rng.random() < 0.15
            for k in range(kids):
                first = self._first(country, rng.random() < 0.5)
                if k == 0 and rng.random() < 0.08:
                    first = adult.first  # junior: the father's first name
                birth = born if twins or k == 0 else _birth(rng, born.year, born.year + 8)
                child = self._person(home, first, adult.last, birth)
                if first == adult.first:
                    child.traps.add("parent_child")
                    adult.traps.add("parent_child")
                people.append(child)
            if twins:
                if people[-1].first == people[-2].first:
                    people[-1].first = self._first(country, people[-2].first[-1] != "a")
                for twin in people[-2:]:
                    twin.traps.add("twin")
        if len(people) > 1:
            for p in people:
                p.traps.add("household")
            if rng.random() < 0.5:
                home.landline = _landline(rng, country)
            if rng.random() < 0.3:
                home.family_email = (
                    f"fam{_plain(adult.last)}{home.id % 997}@{rng.choice(DOMAINS[country])}"
                )
            if rng.random() < 0.3:
                home.card = f"{9000000 + home.id * 13:010d}"
            if rng.random() < 0.25:
                home.tablet = f"{rng.getrandbits(64):016x}"
        for p in people:
            if rng.random() < 0.04 and p.birth.year < 1990:
                p.old_last = rng.choice(lasts)  # married or divorced since
                p.traps.add("name_change")
            if rng.random() < 0.08:
                p.old_address = _address(rng, country)
                p.traps.add("address_change")
        return people

    # --- how each channel writes ----------------------------------------------------------

    def phone_form(self, number: str, country: str) -> str:
        rng = self.rng
        national = number[1:]
        style = rng.random()
        code = "31" if country == "NL" else "46"
        if style < 0.35:
            return number
        if style < 0.6:
            return f"+{code} {national[:2]} {national[2:]}"
        if style < 0.75:
            return f"00{code}{national}"
        if style < 0.9:
            return f"{number[:3]}-{number[3:]}" if country == "SE" else f"{number[:2]}-{number[2:]}"
        return f"+{code}{national}"

    def date_form(self, born: date, country: str) -> str:
        style = self.rng.random()
        if style < 0.35:
            return born.isoformat()
        if style < 0.6:
            return born.strftime("%d-%m-%Y")
        if style < 0.75:
            return born.strftime("%Y/%m/%d")
        if style < 0.9:
            return f"{born.day}.{born.month}.{born.year}"
        return born.strftime("%Y%m%d") if country == "SE" else born.strftime("%d/%m/%Y")

    def surname_form(self, last: str) -> str:
        rng = self.rng
        words = last.split()
        style = rng.random()
        if len(words) > 1 and style < 0.25:
            return f"{words[-1]}, {' '.join(words[:-1])}"  # "Rossum, van der"
        if style < 0.35:
            return last.upper()
        if style < 0.45:
            return _plain(last).title() if rng.random() < 0.5 else last.replace("ij", "y")
        if style < 0.5 and len(last) > 4:
            i = rng.randrange(1, len(last) - 1)
            return last[:i] + last[i + 1 :]  # a typo
        return last

    def first_form(self, first: str) -> str:
        style = self.rng.random()
        if style < 0.08:
            return first[0].upper() + "."
        if style < 0.15:
            return _plain(first).title()
        if style < 0.2:
            return first.lower()
        return first

    def email_form(self, email: str) -> tuple[str, bool]:
        rng = self.rng
        local, domain = email.split("@")
        if domain == "gmail.com" and rng.random() < 0.3:
            choice = rng.random()
            if choice < 0.4:
                local = ".".join(local.replace(".", "")[i : i + 3] for i in range(0, len(local), 3))
            elif choice < 0.7:
                local = f"{local}+{rng.choice(['shop', 'nieuwsbrief', 'butik'])}"
            else:
                domain = "googlemail.com"
            return f"{local}@{domain}", True
        return (email.upper() if rng.random() < 0.05 else email), False

    def records_of(self, person: Person, serial: int) -> Iterator[tuple[CustomerRecord, set[str]]]:
        rng = self.rng
        home = person.home
        k = rng.choices([1, 2, 3, 4, 5, 6], weights=[22, 30, 22, 14, 8, 4])[0]
        channels = rng.sample(CHANNELS, k)
        if rng.random() < 0.25:
            channels.append("pos")  # a second store visit
        for index, channel in enumerate(channels):
            serial += 1
            traps = set(person.traps) & {"household", "twin", "parent_child", "swedish"}
            last = person.last
            if person.old_last and index == 0:
                last = person.old_last
                traps.add("name_change")
            address = home.address
            if person.old_address is not None and index == 0:
                address = person.old_address
                traps.add("address_change")
            country = home.country
            country_form = rng.choice(COUNTRY_FORMS[country])
            email, gmail_form = self.email_form(person.email)
            if gmail_form:
                traps.add("gmail_form")
            if home.family_email and rng.random() < 0.5:
                email = home.family_email
                traps.add("family_email")
            phone = person.mobile
            if home.landline and rng.random() < 0.4:
                phone = home.landline
                traps.add("landline")
            card = person.card
            if home.card and rng.random() < 0.7:
                card = home.card
                traps.add("shared_card")
            device = person.device
            if home.tablet and rng.random() < 0.6:
                device = home.tablet
                traps.add("shared_device")
            observed = EPOCH + timedelta(minutes=serial * 3)
            first, surname = self.first_form(person.first), self.surname_form(last)
            birth = self.date_form(person.birth, country)
            full = Address(address.line1, "", address.postal_code, address.city, country_form)
            if channel == "web":
                record = CustomerRecord(
                    "web", f"acc{serial}", email=email, email_verified=rng.random() < 0.6,
                    phone=self.phone_form(phone, country) if rng.random() < 0.7 else "",
                    customer_id=f"acc{serial}", first_name=first, last_name=surname,
                    birth_date=birth if rng.random() < 0.5 else "", address=full,
                    country=country_form, observed_at=observed,
                )  # fmt: skip
            elif channel == "app":
                record = CustomerRecord(
                    "app", f"inst{serial}", device_id=device,
                    email=email if rng.random() < 0.7 else "", first_name=first,
                    last_name=surname if rng.random() < 0.5 else "", country=country_form,
                    birth_date=birth if rng.random() < 0.3 else "", observed_at=observed,
                )  # fmt: skip
            elif channel == "pos":
                till_phone = self.phone_form(phone, country) if rng.random() < 0.5 else ""
                till_email = email if rng.random() < 0.3 else ""
                if rng.random() < 0.12:  # the clerk fills the required fields
                    traps.add("filler")
                    if rng.random() < 0.5:
                        till_phone = rng.choice(STORE_PHONES + FILLER_PHONES)
                    else:
                        till_email = rng.choice(FILLER_EMAILS)
                record = CustomerRecord(
                    "pos", f"till{serial}", loyalty_card=card[:4] + " " + card[4:],
                    phone=till_phone, email=till_email, first_name=first, last_name=surname,
                    country=country_form, observed_at=observed,
                )  # fmt: skip
            elif channel in ("bol", "amazon"):
                record = CustomerRecord(
                    channel, f"o{serial}",
                    marketplace_buyer_id=f"b{person.id * 7919 % 10**9}",
                    name=f"{first} {last}" if rng.random() < 0.8 else f"{surname}, {first}",
                    address=full, country=country_form,
                    phone=self.phone_form(phone, country) if channel == "bol" and rng.random() < 0.5 else "",  # noqa: E501
                    observed_at=observed,
                )  # fmt: skip
            else:
                record = CustomerRecord(
                    "newsletter", f"nl{serial}", email=email, first_name=first,
                    observed_at=observed,
                )  # fmt: skip
            yield record, traps


@dataclass(frozen=True)
class Labelled:
    record: CustomerRecord
    person: int
    home: int
    traps: frozenset[str]


def generate(people: int, seed: int = 14) -> list[Labelled]:
    """About 3.4 records per person for ``people`` people, in arrival order."""
    gen = Generator(seed)
    out: list[Labelled] = []
    everyone: list[Person] = []
    while len(everyone) < people:
        everyone.extend(gen.household())
    everyone = everyone[:people]
    serial = 0
    for person in everyone:
        for record, traps in gen.records_of(person, serial):
            serial += 1
            out.append(Labelled(record, person.id, person.home.id, frozenset(traps)))
    # Records arrive interleaved over time, not person by person.
    gen.rng.shuffle(out)
    return [
        Labelled(
            CustomerRecord(
                **{**item.record.__dict__, "observed_at": EPOCH + timedelta(minutes=3 * i)}
            ),
            item.person,
            item.home,
            item.traps,
        )
        for i, item in enumerate(out)
    ]
