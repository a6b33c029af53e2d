"""CPU accounting for the benchmarks: how busy the machine was, and how much of it was not us.

On a shared 2-core machine another process (a test run, a build) moves latency
figures a lot; the benchmarks print this next to their figures so a noisy run
can be recognised. "Ours" is this process and its children (broker, workers,
sink, API) plus the PostgreSQL started on the stack's data directory and its
backends.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

_TICK = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Snapshot:
    at: float
    machine_busy: float  # seconds of CPU, all cores
    per_pid: dict[int, tuple[int, float, str]]  # pid -> (ppid, cpu seconds, command line)


def _machine_busy() -> float:
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return (sum(fields[:8]) - idle) / _TICK


def snapshot() -> Snapshot:
    per_pid = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        per_pid[int(entry.name)] = (int(stat[1]), (int(stat[11]) + int(stat[12])) / _TICK, cmdline)
    return Snapshot(time.perf_counter(), _machine_busy(), per_pid)


def _ours(snap: Snapshot, data_dir: Path | None) -> set[int]:
    roots = {os.getpid()}
    if data_dir is not None:
        roots |= {pid for pid, (_, _, cmd) in snap.per_pid.items() if "postgres" in cmd and str(data_dir) in cmd}
    children: dict[int, list[int]] = {}
    for pid, (ppid, _, _) in snap.per_pid.items():
        children.setdefault(ppid, []).append(pid)
    ours, todo = set(), list(roots)
    while todo:
        pid = todo.pop()
        if pid not in ours:
            ours.add(pid)
            todo += children.get(pid, [])
    return ours


def usage(before: Snapshot, after: Snapshot, data_dir: Path | None = None) -> str:
    """'machine busy X% of N cores; ours Y%; other processes Z% (top: ...)', one core = 100%."""
    wall = after.at - before.at
    ours = _ours(after, data_dir) | _ours(before, data_dir)
    used: dict[int, float] = {}
    for pid, (_, cpu, _) in after.per_pid.items():
        used[pid] = cpu - (before.per_pid[pid][1] if pid in before.per_pid else 0.0)
    mine = sum(v for pid, v in used.items() if pid in ours)
    others = {pid: v for pid, v in used.items() if pid not in ours and v > 0}
    busy = 100 * (after.machine_busy - before.machine_busy) / wall
    return (f"machine busy {busy:.0f}% of {os.cpu_count()} cores (one core = 100%); this stack {100 * mine / wall:.0f}% "
            f"({_top(after, {p: v for p, v in used.items() if p in ours}, wall, 5)}); "
            f"other processes {100 * sum(others.values()) / wall:.0f}% ({_top(after, others, wall, 3)})")


def _name(cmdline: str) -> str:
    words = cmdline.split()
    if not words:
        return "?"
    if "-m" in words[:-1]:
        module = words[words.index("-m") + 1]
        if "-A" in words[:-1]:
            module = words[words.index("-A") + 1]
        return module.rsplit(".", 1)[-1]
    if len(words) > 1 and words[1].endswith(".py"):
        return Path(words[1]).stem
    if words[0].endswith("postgres") or words[0].startswith("postgres:"):
        return "postgres"
    return Path(words[0]).name.split("-v")[0][:20]


def _top(snap: Snapshot, used: dict[int, float], wall: float, n: int) -> str:
    by_name: dict[str, float] = {}
    for pid, v in used.items():
        name = _name(snap.per_pid[pid][2])
        by_name[name] = by_name.get(name, 0.0) + v
    top = sorted(by_name.items(), key=lambda kv: -kv[1])[:n]
    return ", ".join(f"{name} {100 * v / wall:.0f}%" for name, v in top if 100 * v / wall >= 1) or "-"
