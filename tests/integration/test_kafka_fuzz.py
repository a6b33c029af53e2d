"""Kafka fuzz on every input topic, through the whole stack (real broker, workers, sink, PostgreSQL).

Invariant (issue 7): every input offset ends booked or dead-lettered exactly
once, no stage restarts, and the figures of a portfolio no fuzz record names
stay what a hand calculation says. Seeded and bounded: the same records every run.
"""
from __future__ import annotations

import asyncio
import json
import random
from collections import Counter, defaultdict
from dataclasses import dataclass
from decimal import Decimal as D

import asyncpg
import pytest
import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition

from folio.devenv.stack import INPUT_TOPICS, Stack
from folio.produce import kafka_producer
from tests.integration.kafka_fuzz_inputs import FUZZ_PORTFOLIO, FuzzFactory, FuzzRecord

pytestmark = pytest.mark.integration

SEED = 20261126
PER_TOPIC = 400  # plus two 1 MB values per topic
SETTLE_TIMEOUT = 150.0


def _record(topic: str, key: str, event: dict, kind: str = "control") -> FuzzRecord:
    return FuzzRecord(topic, kind, key.encode(), json.dumps(event).encode())


def _tx(transaction_id: str, **fields) -> FuzzRecord:
    return _record("transactions", "CTRL", {"transaction_id": transaction_id, "portfolio_id": "CTRL",
                                            "currency": "USD", **fields})


DEFINITIONS = [
    _record("portfolios", "CTRL", {"portfolio_id": "CTRL", "name": "Control", "base_currency": "USD",
                                   "cost_method": "FIFO", "open_date": "2024-01-02"}),
    _record("portfolios", FUZZ_PORTFOLIO, {"portfolio_id": FUZZ_PORTFOLIO, "name": "Fuzzed", "base_currency": "USD",
                                           "cost_method": "FIFO", "open_date": "2023-01-02"}),
]
CONTROL = [
    _record("instruments", "CTRL-SEC", {"security_id": "CTRL-SEC", "name": "Control Co", "currency": "USD"}),
    _record("prices", "CTRL-SEC", {"security_id": "CTRL-SEC", "price_date": "2024-01-10", "price": "55"}),
    _tx("C-1", type="DEPOSIT", trade_date="2024-01-02", amount="10000"),
    _tx("C-2", type="BUY", trade_date="2024-01-03", security_id="CTRL-SEC", quantity="100", price="50", fees="5"),
    _tx("C-3", type="SELL", trade_date="2024-01-05", security_id="CTRL-SEC", quantity="40", price="60", fees="3"),
    _tx("C-4", type="DIVIDEND", trade_date="2024-01-06", security_id="CTRL-SEC", amount="20"),
]
# By hand: BUY 100 × 50 + 5 = 5005; SELL 40 × 60 − 3 = 2397 proceeds, FIFO relief
# 40/100 × 5005 = 2002 → realized 395; left 60 costing 3003, worth 60 × 55 = 3300.
# Cash 10000 − 5005 + 2397 + 20 = 7412; total 10712.
CONTROL_POSITION = (D(60), D(3003), D(395))
CONTROL_CASH = D(7412)
CONTROL_TOTAL = D(10712)


def _total(valuation: httpx.Response) -> D | str:
    total = valuation.json().get("total_base") if valuation.status_code == 200 else None
    return D(total) if total is not None else f"{valuation.status_code} {valuation.text[:200]}"


@dataclass(frozen=True)
class Sent:
    record: FuzzRecord
    partition: int
    offset: int


async def _publish(bootstrap: str, records: list[FuzzRecord]) -> list[Sent]:
    producer = kafka_producer(bootstrap, max_request_size=8 << 20)
    await producer.start()
    try:
        futures = [await producer.send(r.topic, r.value, key=r.key) for r in records]
        metas = await asyncio.gather(*futures)
    finally:
        await producer.stop()
    return [Sent(r, m.partition, m.offset) for r, m in zip(records, metas)]


async def _settle(stack: Stack) -> list[str]:
    """Wait until everything is consumed; stop early if a stage dies. Returns problems seen."""
    idle = asyncio.create_task(stack.wait_idle(timeout=SETTLE_TIMEOUT))
    try:
        while not idle.done():
            dead = [name for name in stack.supervisor.children if not stack.supervisor.alive(name)]
            if dead:
                await asyncio.sleep(3)  # let the surviving stages finish what they can
                return [f"stage {name} exited (code {stack.supervisor.children[name].returncode}): "
                        f"{_log_tail(stack, name)}" for name in dead]
            await asyncio.sleep(0.5)
        idle.result()
        return []
    except TimeoutError as exc:
        return [str(exc)]
    finally:
        idle.cancel()


def _log_tail(stack: Stack, name: str) -> str:
    lines = (stack.supervisor.log_dir / f"{name}.log").read_text(errors="replace").splitlines()
    errors = [line for line in lines if "Error" in line or "Exception" in line]
    return " | ".join((errors or lines)[-3:])[:600]


async def _dead_letter_counts(bootstrap: str) -> tuple[Counter, dict[tuple, str]]:
    """Letters on the dead_letters topic by (source_topic, partition, offset), and each one's reason."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
                                max_partition_fetch_bytes=16 << 20, fetch_max_bytes=64 << 20)
    await consumer.start()
    try:
        parts = [TopicPartition("dead_letters", p) for p in sorted(consumer.partitions_for_topic("dead_letters")
                                                                    or await _partitions(consumer))]
        consumer.assign(parts)
        await consumer.seek_to_beginning(*parts)
        ends = await consumer.end_offsets(parts)
        counts, reasons = Counter(), {}
        while [tp for tp, end in ends.items() if await consumer.position(tp) < end]:
            for records in (await consumer.getmany(timeout_ms=1000)).values():
                for r in records:
                    letter = json.loads(r.value)
                    where = (letter["source_topic"], letter["partition"], letter["offset"])
                    counts[where] += 1
                    reasons[where] = letter["reason"]
        return counts, reasons
    finally:
        await consumer.stop()


async def _partitions(consumer: AIOKafkaConsumer) -> set[int]:
    await consumer.topics()
    return consumer.partitions_for_topic("dead_letters") or set()


def _strings(event: dict | None, *names: str) -> tuple[str, ...] | None:
    """The named fields when each is a string, else None."""
    values = tuple((event or {}).get(name) for name in names)
    return values if all(isinstance(v, str) for v in values) else None


def _utf8(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")  # a JSON "\\ud800" escape decodes to a lone surrogate


def _json_object(value: bytes) -> dict | None:
    try:
        parsed = json.loads(value.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None
    return parsed if isinstance(parsed, dict) else None


class Books:
    """What PostgreSQL holds of the inputs, by the source offsets it records."""

    async def load(self, dsn: str, sent: list[Sent]) -> Books:
        conn = await asyncpg.connect(dsn)
        try:
            self.txs = {(r["portfolio_id"], r["transaction_id"]): (r["version"], r["arrival"])
                        for r in await conn.fetch("SELECT portfolio_id, transaction_id, version, arrival FROM transactions")}
            self.portfolios = {r[0] for r in await conn.fetch("SELECT portfolio_id FROM portfolios")}
            self.reference = {
                "instruments": {(r[0],): (r[1], r[2]) for r in await conn.fetch(
                    "SELECT security_id, src_partition, src_offset FROM instruments")},
                "prices": {(r[0], r[1].isoformat()): (r[2], r[3]) for r in await conn.fetch(
                    "SELECT security_id, price_date, src_partition, src_offset FROM prices")},
                "fx_rates": {(r[0], r[1], r[2].isoformat()): (r[3], r[4]) for r in await conn.fetch(
                    "SELECT from_currency, to_currency, rate_date, src_partition, src_offset FROM fx_rates")},
            }
            self.control = await conn.fetchrow(
                "SELECT quantity, cost_local, realized_local FROM positions WHERE portfolio_id = 'CTRL'")
            self.control_cash = await conn.fetchval(
                "SELECT balance FROM cash_balances WHERE portfolio_id = 'CTRL' AND currency = 'USD'")
        finally:
            await conn.close()
        # Booked transactions carry their arrival offset; their partition is their key's.
        partition_of = {s.record.key: s.partition for s in sent if s.record.topic == "transactions"}
        self.booked_tx = {(partition_of.get(pid.encode()), arrival) for (pid, _), (_, arrival) in self.txs.items()}
        return self

    def outcome(self, s: Sent) -> str | None:
        """'booked', 'superseded' (a duplicate, or a later version/quote of the same thing), or None."""
        topic, event = s.record.topic, _json_object(s.record.value)
        if topic == "transactions":
            if (s.partition, s.offset) in self.booked_tx:
                return "booked"
            ids = _strings(event, "portfolio_id", "transaction_id")
            if ids and s.record.key == _utf8(ids[0]):
                row = self.txs.get(ids)
                version = event.get("version", 1)
                if row and isinstance(version, int) and row[0] >= version:
                    return "superseded"
            return None
        if topic == "portfolios":
            pid = _strings(event, "portfolio_id")
            return "booked" if pid and pid[0] in self.portfolios and s.record.key == _utf8(pid[0]) else None
        fields = {"instruments": ("security_id",), "prices": ("security_id", "price_date"),
                  "fx_rates": ("from_currency", "to_currency", "rate_date")}[topic]
        values = _strings(event, *fields)
        row = self.reference[topic].get(values) if values else None
        if row == (s.partition, s.offset):
            return "booked"
        return "superseded" if row and row[0] == s.partition and row[1] > s.offset else None


async def test_fuzzed_records_on_every_input_topic_are_each_booked_or_dead_lettered_once_and_stop_nothing(
        start_stack):
    factory = FuzzFactory(SEED)
    fuzz = {topic: factory.records(topic, PER_TOPIC) for topic in INPUT_TOPICS}
    stream = [r for records in fuzz.values() for r in records]
    random.Random(SEED).shuffle(stream)
    # The control's events keep their order, spread through the fuzz.
    slots = sorted(random.Random(SEED + 1).sample(range(len(stream)), len(CONTROL)))
    for slot, record in zip(reversed(slots), reversed(CONTROL)):
        stream.insert(slot, record)

    stack = await start_stack()
    pids = {name: child.pid for name, child in stack.supervisor.children.items()}
    definitions = await _publish(stack.bootstrap, DEFINITIONS)
    await stack.wait_idle(include_sink=False)
    sent = definitions + await _publish(stack.bootstrap, stream)
    problems = await _settle(stack)

    letters, reasons = await _dead_letter_counts(stack.bootstrap)
    books = await Books().load(stack.dsn, sent)
    summary: dict[str, Counter] = defaultdict(Counter)
    lost, twice = [], []
    for s in sent:
        where = (s.record.topic, s.partition, s.offset)
        outcome = books.outcome(s)
        if letters[where] > 1 or (letters[where] and outcome == "booked"):
            twice.append(f"{s.record.describe()} @{s.partition}:{s.offset} letters={letters[where]} {outcome}")
        elif letters[where]:
            summary[s.record.topic][f"dead_letter:{reasons[where]}"] += 1
        elif outcome:
            summary[s.record.topic][outcome] += 1
        else:
            lost.append(f"{s.record.describe()} @{s.partition}:{s.offset}")
            summary[s.record.topic]["LOST"] += 1
    restarted = [name for name, pid in pids.items()
                 if not stack.supervisor.alive(name) or stack.supervisor.children[name].pid != pid]

    async with stack.client(timeout=30) as client:
        valuation = await client.get("/portfolios/CTRL/valuation")
    control = {
        "position (quantity, cost, realized)": (
            books.control and (books.control["quantity"], books.control["cost_local"], books.control["realized_local"]),
            CONTROL_POSITION),
        "cash": (books.control_cash, CONTROL_CASH),
        "live total_base": (_total(valuation), CONTROL_TOTAL),
    }
    wrong = {name: got for name, (got, expected) in control.items() if got != expected}
    report = "\n".join([f"{topic}: {sum(c.values())} inputs, {dict(sorted(c.items()))}"
                        for topic, c in summary.items()] + problems
                       + [f"restarted or dead: {restarted}", f"control figures wrong: {wrong}"]
                       + ["LOST " + x for x in lost[:60]] + ["TWICE " + x for x in twice[:30]])
    print(report)
    assert (problems, restarted, lost, twice, wrong) == ([], [], [], [], {}), report
