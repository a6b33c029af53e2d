"""Seeded fuzz records for every input topic, built from the small scenario's valid events.

Each record says what kind of damage it carries, so a failure names it. Ids are
rewritten into a fuzz namespace (portfolio FUZZ, FZP-/FZS- ids, Q.. currencies)
so that nothing generated here can touch the control portfolio's figures.
"""
from __future__ import annotations

import json
import random
import string
from dataclasses import dataclass

from tests.support.hostile import HOSTILE_FRAGMENTS, MEGABYTE, huge_string, splice
from tests.support.scenario import event_lines

FUZZ_PORTFOLIO = "FUZZ"
TINY_VALUES = (b"", b" ", b"{", b"}", b"1", b"null", b"[]", b"{}", b'""', b"\n")
NON_OBJECTS = (b"[1,2,3]", b'"text"', b"42", b"true", b"[{}]")
BAD_UTF8 = (b"\xff", b"\xfe\xff", b"\xed\xa0\x80", b"\xc3", b"\xc0\xaf")
WRONG_KEYS = (b"CTRL", b"P001", b"nope", b"\x00", b"\xff\xfe", b"x" * 300)


@dataclass(frozen=True)
class FuzzRecord:
    topic: str
    kind: str
    key: bytes | None
    value: bytes

    def describe(self) -> str:
        head = self.value[:80]
        return f"{self.topic} {self.kind} key={self.key!r:.40} value[{len(self.value)}]={head!r}"


def _currency(n: int) -> str:
    letters = string.ascii_uppercase
    return "Q" + letters[(n // 26) % 26] + letters[n % 26]


class FuzzFactory:
    """Makes `count` damaged or valid records per topic from the scenario's events."""

    def __init__(self, seed: int, scenario: str = "small") -> None:
        self.rng = random.Random(seed)
        self.seeds: dict[str, list[dict]] = {}
        for line in event_lines(scenario):
            if isinstance(line["value"], dict):
                self.seeds.setdefault(line["topic"], []).append(line["value"])
        self.serial = 0

    # A valid event of the topic, its ids moved into the fuzz namespace.
    def event(self, topic: str) -> tuple[bytes, dict]:
        self.serial += 1
        n = self.serial
        event = dict(self.rng.choice(self.seeds[topic]))
        if topic == "transactions":
            event["transaction_id"] = f"FZ-{n}"
            if self.rng.random() < 0.8:
                event["portfolio_id"] = FUZZ_PORTFOLIO  # else a scenario portfolio nobody defined here
            key = event["portfolio_id"]
        elif topic == "portfolios":
            event["portfolio_id"] = key = f"FZP-{n}"
        elif topic in ("instruments", "prices"):
            event["security_id"] = key = f"FZS-{n}"
        else:
            if self.rng.random() < 0.7:
                event["from_currency"] = _currency(n)
            key = f"{event['from_currency']}/{event['to_currency']}"
        return key.encode(), event

    def records(self, topic: str, count: int) -> list[FuzzRecord]:
        made: list[FuzzRecord] = []
        # Near-valid events weigh double: they reach the deepest code.
        kinds = [k for k in dir(self) if k.startswith("kind_")] + ["kind_valid", "kind_hostile_field"]
        for _ in range(count):
            kind = self.rng.choice(kinds)
            if kind == "kind_duplicate" and not made:
                kind = "kind_valid"
            made.append(getattr(self, kind)(topic, made))
        # 1 MB values: a near-valid event with a 1 MB field, and 1 MB of random bytes.
        key, event = self.event(topic)
        field = self.rng.choice(sorted(event))
        made.append(FuzzRecord(topic, "huge_field", key, splice(event, field, huge_string(self.rng))))
        made.append(FuzzRecord(topic, "huge_random", key, self.rng.randbytes(MEGABYTE)))
        self.rng.shuffle(made)
        return made

    def _valid(self, topic: str) -> tuple[bytes, bytes]:
        key, event = self.event(topic)
        return key, json.dumps(event).encode()

    def kind_valid(self, topic, made):
        return FuzzRecord(topic, "valid", *self._valid(topic))

    def kind_random_bytes(self, topic, made):
        return FuzzRecord(topic, "random_bytes", self.rng.choice(WRONG_KEYS + (b"FUZZ",)),
                          self.rng.randbytes(self.rng.randint(0, 200)))

    def kind_truncated(self, topic, made):
        key, value = self._valid(topic)
        return FuzzRecord(topic, "truncated", key, value[:self.rng.randint(0, len(value) - 1)])

    def kind_mutated_bytes(self, topic, made):
        key, value = self._valid(topic)
        data = bytearray(value)
        for _ in range(self.rng.randint(1, 3)):
            data[self.rng.randrange(len(data))] = self.rng.randrange(256)
        return FuzzRecord(topic, "mutated_bytes", key, bytes(data))

    def kind_hostile_field(self, topic, made):
        key, event = self.event(topic)
        field = self.rng.choice(sorted(event))
        fragment = self.rng.choice(HOSTILE_FRAGMENTS)
        return FuzzRecord(topic, f"hostile_field:{field}={fragment[:24]}", key, splice(event, field, fragment))

    def kind_wrong_key(self, topic, made):
        _, value = self._valid(topic)
        return FuzzRecord(topic, "wrong_key", self.rng.choice(WRONG_KEYS), value)

    def kind_missing_key(self, topic, made):
        _, value = self._valid(topic)
        return FuzzRecord(topic, "missing_key", None, value)

    def kind_tiny(self, topic, made):
        return FuzzRecord(topic, "tiny", self.rng.choice(WRONG_KEYS + (b"FUZZ",)), self.rng.choice(TINY_VALUES))

    def kind_non_object(self, topic, made):
        key, _ = self._valid(topic)
        return FuzzRecord(topic, "non_object", key, self.rng.choice(NON_OBJECTS))

    def kind_nul_bytes(self, topic, made):
        key, value = self._valid(topic)
        at = self.rng.randrange(len(value))
        return FuzzRecord(topic, "nul_bytes", key, value[:at] + b"\x00" + value[at:])

    def kind_invalid_utf8(self, topic, made):
        key, value = self._valid(topic)
        at = value.index(b'"', 2) + 1  # inside the first value string... or key, either way
        return FuzzRecord(topic, "invalid_utf8", key, value[:at] + self.rng.choice(BAD_UTF8) + value[at:])

    def kind_duplicate(self, topic, made):
        earlier = self.rng.choice(made)
        return FuzzRecord(topic, f"duplicate_of:{earlier.kind}", earlier.key, earlier.value)
