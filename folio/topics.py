"""Folio's Kafka topics: read `topics.yaml` and create what is missing.

`apply_topics` is idempotent and only ever creates topics. It never alters an
existing topic (partition count, replication, configs): it reports each
difference for an operator to decide, because raising a partition count moves
keys away from their Faust table partitions, and because the development
broker (tansu) supports neither AlterConfigs nor CreatePartitions.
"""
from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

REPLICATION_ENV = "FOLIO_REPLICATION"
CLEANUP_POLICIES = frozenset({"delete", "compact", "compact,delete"})
# Beside the `folio` package: found for a source checkout or an editable install.
PACKAGED_TOPICS_FILE = Path(__file__).resolve().parent.parent / "topics.yaml"

# First words of apply_topics' report lines.
CREATED = "created"
EXISTS = "exists"
PARTITION_MISMATCH = "partition mismatch"
REPLICATION_MISMATCH = "replication mismatch"
CONFIG_MISMATCH = "config mismatch"

_TOPIC_ALREADY_EXISTS = 36


class TopicsFileError(ValueError):
    """topics.yaml is malformed or inconsistent."""


class TopicCreationError(RuntimeError):
    """The broker refused to create one or more topics."""


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int
    replication: int
    cleanup_policy: str
    retention_ms: int | None = None

    @property
    def configs(self) -> dict[str, str]:
        """Kafka topic configs, as CreateTopics and DescribeConfigs spell them."""
        configs = {"cleanup.policy": self.cleanup_policy}
        if self.retention_ms is not None:
            configs["retention.ms"] = str(self.retention_ms)
        return configs


def default_topics_file() -> Path:
    """`./topics.yaml` when there is one, else the one shipped beside the package."""
    local = Path("topics.yaml")
    return local if local.is_file() else PACKAGED_TOPICS_FILE


def load_topics(path: Path | str | None = None) -> list[TopicSpec]:
    """Parse and check topics.yaml; `FOLIO_REPLICATION` overrides every replication."""
    path = Path(path) if path is not None else default_topics_file()
    document = yaml.safe_load(path.read_text()) or {}
    defaults = document.get("defaults") or {}
    replication_override = os.environ.get(REPLICATION_ENV)
    specs = []
    for entry in document.get("topics") or []:
        spec = _topic_spec({**defaults, **entry}, path)
        if replication_override:
            spec = TopicSpec(
                spec.name, spec.partitions, _positive_int(replication_override, REPLICATION_ENV),
                spec.cleanup_policy, spec.retention_ms,
            )
        specs.append(spec)
    _check_unique(specs, path)
    _check_co_partitioned(specs, document.get("co_partitioned") or [], path)
    return specs


async def apply_topics(bootstrap: str, specs: Iterable[TopicSpec]) -> list[str]:
    """Create missing topics; report one line per topic plus one per difference found."""
    specs = list(specs)
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id="folio-topics")
    try:
        await admin.start()
        existing = await _describe_existing(admin, [s.name for s in specs])
        to_create = [s for s in specs if s.name not in existing]
        raced = await _create(admin, to_create)
        present = [s for s in specs if s.name in existing]
        actual_configs = await _describe_configs(admin, [s.name for s in present])
    finally:
        await admin.close()

    report = []
    for spec in specs:
        if spec.name in existing:
            report.append(f"{EXISTS} {spec.name}")
            report.extend(_differences(spec, existing[spec.name], actual_configs.get(spec.name, {})))
        elif spec.name in raced:
            report.append(f"{EXISTS} {spec.name} (created concurrently; not compared)")
        else:
            configs = ", ".join(f"{k}={v}" for k, v in spec.configs.items())
            report.append(
                f"{CREATED} {spec.name}: {spec.partitions} partitions, "
                f"replication {spec.replication}, {configs}"
            )
    return report


def is_difference(report_line: str) -> bool:
    return not report_line.startswith((CREATED, EXISTS))


@dataclass(frozen=True)
class _ExistingTopic:
    partitions: int
    replication: int


def _differences(spec: TopicSpec, actual: _ExistingTopic, actual_configs: Mapping[str, str]) -> list[str]:
    lines = []
    if actual.partitions != spec.partitions:
        lines.append(
            f"{PARTITION_MISMATCH} {spec.name}: the broker has {actual.partitions}, "
            f"topics.yaml says {spec.partitions} (not changed: changing it moves keys to other partitions)"
        )
    if actual.replication != spec.replication:
        lines.append(
            f"{REPLICATION_MISMATCH} {spec.name}: the broker has {actual.replication}, "
            f"topics.yaml says {spec.replication} (not changed: reassign partitions with Kafka's tools)"
        )
    for key, wanted in spec.configs.items():
        found = actual_configs.get(key)
        if found != wanted:
            lines.append(
                f"{CONFIG_MISMATCH} {spec.name}: {key} is {found if found is not None else 'unset'}, "
                f"topics.yaml says {wanted} (not changed: use kafka-configs)"
            )
    return lines


async def _describe_existing(admin: AIOKafkaAdminClient, names: list[str]) -> dict[str, _ExistingTopic]:
    listed = set(await admin.list_topics())
    wanted = [name for name in names if name in listed]
    if not wanted:
        return {}
    existing = {}
    for topic in await admin.describe_topics(wanted):
        partitions = topic["partitions"]
        replication = len(partitions[0]["replicas"]) if partitions else 0
        existing[topic["topic"]] = _ExistingTopic(len(partitions), replication)
    return existing


async def _create(admin: AIOKafkaAdminClient, specs: list[TopicSpec]) -> set[str]:
    """Create `specs`; return the names that someone else created in the meantime."""
    if not specs:
        return set()
    response = await admin.create_topics(
        [NewTopic(s.name, s.partitions, s.replication, topic_configs=s.configs) for s in specs]
    )
    raced, failures = set(), []
    for name, error_code, *rest in response.topic_errors:
        if error_code == _TOPIC_ALREADY_EXISTS:
            raced.add(name)
        elif error_code != 0:
            message = rest[0] if rest and rest[0] else ""
            failures.append(f"{name}: error {error_code} {message}".strip())
    if failures:
        raise TopicCreationError("could not create topics: " + "; ".join(failures))
    return raced


async def _describe_configs(admin: AIOKafkaAdminClient, names: list[str]) -> dict[str, dict[str, str]]:
    if not names:
        return {}
    resources = [ConfigResource(ConfigResourceType.TOPIC, name) for name in names]
    configs: dict[str, dict[str, str]] = {}
    for response in await admin.describe_configs(resources):
        for error_code, _message, _type, name, entries, *_ in response.resources:
            if error_code == 0:
                configs[name] = {entry[0]: entry[1] for entry in entries}
    return configs


def _topic_spec(entry: Mapping[str, Any], path: Path) -> TopicSpec:
    name = entry.get("name")
    if not isinstance(name, str) or not name:
        raise TopicsFileError(f"{path}: every topic needs a name: {dict(entry)}")
    policy = entry.get("cleanup_policy", "delete")
    if policy not in CLEANUP_POLICIES:
        raise TopicsFileError(f"{path}: {name}: cleanup_policy must be one of {sorted(CLEANUP_POLICIES)}")
    retention = entry.get("retention_ms")
    if retention is not None and (not isinstance(retention, int) or isinstance(retention, bool)):
        raise TopicsFileError(f"{path}: {name}: retention_ms must be an integer (-1 = forever)")
    return TopicSpec(
        name=name,
        partitions=_positive_int(entry.get("partitions"), f"{path}: {name}: partitions"),
        replication=_positive_int(entry.get("replication"), f"{path}: {name}: replication"),
        cleanup_policy=policy,
        retention_ms=retention,
    )


def _positive_int(value: Any, what: str) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise TopicsFileError(f"{what} must be a positive integer, got {value!r}") from None
    if number < 1 or isinstance(value, bool):
        raise TopicsFileError(f"{what} must be a positive integer, got {value!r}")
    return number


def _check_unique(specs: list[TopicSpec], path: Path) -> None:
    seen = set()
    for spec in specs:
        if spec.name in seen:
            raise TopicsFileError(f"{path}: topic {spec.name} is declared twice")
        seen.add(spec.name)


def _check_co_partitioned(specs: list[TopicSpec], groups: list[list[str]], path: Path) -> None:
    by_name = {spec.name: spec for spec in specs}
    for group in groups:
        unknown = [name for name in group if name not in by_name]
        if unknown:
            raise TopicsFileError(f"{path}: co_partitioned names undeclared topics {unknown}")
        counts = {name: by_name[name].partitions for name in group}
        if len(set(counts.values())) > 1:
            raise TopicsFileError(f"{path}: these topics must have the same partition count: {counts}")
