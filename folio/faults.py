"""Test-only fault injection: crash a stage at a named point of its work.

`FOLIO_FAULTS="sink:before_commit:3,batcher:after_send:2"` makes the process
exit at once (os._exit: no flush, no commit, no shutdown hook, like kill -9)
the 3rd time the sink passes its `before_commit` point, and the 2nd time the
batcher passes `after_send`. Each fault fires once per data dir: a marker in
`$FOLIO_DATA_DIR/faults-fired/` keeps the restarted stage from crashing at the
same point again, so a test run makes progress. Unset (always, outside tests)
it costs one dict lookup per point.

Points (stage:point): batcher:after_send (batch acknowledged, source not
committed); worker:after_rocksdb (tables written, changelog not sent);
worker:between_changelogs (the batch's pending record and the ledger's
changelog records acknowledged, the positions', cash's and the rest not
sent: the partial batch a worker dying mid-send leaves); worker:before_days (every table's
changelog records acknowledged but the days': a position on the changelog before its history);
worker:after_changelog (changelog
acknowledged, dead letters not sent, source not acknowledged); sink:before_write; sink:before_commit (rows committed,
offsets not); series:before_ack (series rows committed, marks not acked).
"""
from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

FAULTS_ENV = "FOLIO_FAULTS"
EXIT_CODE = 86
POINTS = frozenset({"batcher:after_send", "worker:after_rocksdb", "worker:between_changelogs", "worker:before_days",
                    "worker:after_changelog",
                    "sink:before_write", "sink:before_commit", "series:before_ack"})


def _parse(spec: str) -> dict[str, int]:
    faults = {}
    for item in filter(None, (part.strip() for part in spec.split(","))):
        stage, point, nth = item.split(":")
        name = f"{stage}:{point}"
        if name not in POINTS:
            raise ValueError(f"{FAULTS_ENV}: unknown fault point {name!r}; known: {sorted(POINTS)}")
        faults[name] = int(nth)
    return faults


_armed = _parse(os.environ.get(FAULTS_ENV, ""))
_passes: Counter[str] = Counter()


def _marker(name: str) -> Path:
    return Path(os.environ.get("FOLIO_DATA_DIR", ".folio")) / "faults-fired" / name.replace(":", "-")


def is_armed(name: str) -> bool:
    """Whether `name` may still fire: for a point that needs its stage to wait for something first."""
    return name in _armed and not _marker(name).exists()


def fault_point(name: str) -> None:
    """Crash here if FOLIO_FAULTS arms this point for this pass (and it has not fired yet)."""
    nth = _armed.get(name)
    if nth is None:
        return
    _passes[name] += 1
    if _passes[name] < nth:
        return
    marker = _marker(name)
    if marker.exists():
        return
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text(str(os.getpid()))
    os.write(2, f"FOLIO_FAULTS: crashing at {name} (pass {_passes[name]})\n".encode())
    os._exit(EXIT_CODE)
