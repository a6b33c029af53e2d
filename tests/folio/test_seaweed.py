"""The S3 server of `folio up` syncs acknowledged writes, data and metadata (folio.devenv.seaweed)."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from folio.devenv.seaweed import LEVELDB_DIR, METADATA_DB, S3StartError, SeaweedS3, _leveldb_store


def _put(server: SeaweedS3, path: str, body: bytes) -> None:
    request = urllib.request.Request(server.filer_url + path, data=body, method="PUT")
    with urllib.request.urlopen(request, timeout=10) as answer:
        answer.read()


def _get(server: SeaweedS3, path: str) -> bytes | None:
    try:
        with urllib.request.urlopen(server.filer_url + path, timeout=10) as answer:
            return answer.read()
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            return None
        raise


OBJECTS = {f"/buckets/tansu/clusters/c/topics/t/partitions/{p:010d}/records/{n:020d}.batch": f"batch {p}/{n}".encode()
           for p in range(2) for n in range(3)}


@pytest.fixture
def server(tmp_path: Path):
    server = SeaweedS3(tmp_path / "seaweedfs", tmp_path / "logs")
    yield server
    server.stop()


def _an_older_folio_store(server: SeaweedS3) -> None:
    """What Folio made before the move: weed's default metadata store, LevelDB under filerldb2/."""
    server.data_dir.mkdir(parents=True)
    server.ports = server._choose_ports()
    server._run(_leveldb_store(server.data_dir / LEVELDB_DIR))
    for path, body in OBJECTS.items():
        _put(server, path, body)
    server.stop()
    assert (server.data_dir / LEVELDB_DIR).is_dir()


def test_a_started_server_fsyncs_every_write_under_the_buckets_and_keeps_doing_so_after_a_restart(server):
    for _ in range(2):
        server.start()
        with urllib.request.urlopen(server.filer_url + "/etc/seaweedfs/filer.conf", timeout=10) as answer:
            conf = json.loads(answer.read())
        assert [(c["locationPrefix"], c["fsync"]) for c in conf["locations"]] == [("/buckets/", True)]
        server.stop()


def test_a_new_store_keeps_its_metadata_in_sqlite_and_finds_every_object_after_a_restart(server):
    server.start()
    for path, body in OBJECTS.items():
        _put(server, path, body)
    server.stop()
    server.start()
    assert {path: _get(server, path) for path in OBJECTS} == OBJECTS
    assert (server.data_dir / METADATA_DB).is_file()
    assert not (server.data_dir / LEVELDB_DIR).exists()
    assert server.moved_metadata is None


def test_a_store_with_leveldb_metadata_is_moved_to_sqlite_with_every_object_and_says_how_much(server):
    _an_older_folio_store(server)
    server.start()
    assert {path: _get(server, path) for path in OBJECTS} == OBJECTS
    # the six batches and weed's own entries (its filer.conf, the S3 identities)
    counts = re.fullmatch(r"(\d+) directories, (\d+) files", server.moved_metadata or "")
    assert counts and int(counts[2]) >= len(OBJECTS), server.moved_metadata
    assert (server.data_dir / METADATA_DB).is_file()
    assert not (server.data_dir / LEVELDB_DIR).exists()
    server.stop()
    server.moved_metadata = None
    server.start()  # moved once: the next start uses SQLite as it is
    assert server.moved_metadata is None
    assert {path: _get(server, path) for path in OBJECTS} == OBJECTS


def test_a_move_cut_short_by_a_kill_is_redone_from_leveldb_at_the_next_start(server):
    _an_older_folio_store(server)
    # A kill mid-copy leaves a half-written SQLite file under its temporary name.
    (server.data_dir / f"{METADATA_DB}.partial").write_bytes(b"half a database")
    server.start()
    assert {path: _get(server, path) for path in OBJECTS} == OBJECTS
    assert not (server.data_dir / f"{METADATA_DB}.partial").exists()


def _weed_pid(server: SeaweedS3) -> int:
    found = subprocess.run(["pgrep", "-f", f"weed mini -dir={server.data_dir}"], capture_output=True, text=True)
    return int(found.stdout.split()[-1])


def test_an_acknowledged_write_has_its_bytes_and_its_metadata_fsynced_before_the_answer(server, tmp_path: Path):
    """What a power loss needs: both the object's bytes and its metadata entry on disk when the PUT is answered."""
    if shutil.which("strace") is None:
        pytest.fail("strace is not installed: apt-get install strace (./dev test installs it)")
    server.start()
    trace = tmp_path / "strace.txt"
    tracer = subprocess.Popen(["strace", "-f", "-ttt", "-y", "-e", "trace=fsync,fdatasync,unlink,unlinkat", "-o", str(trace),
                               "-p", str(_weed_pid(server))], stderr=subprocess.PIPE, text=True)
    try:
        assert "attached" in tracer.stderr.readline()
        sent = time.time()
        _put(server, "/buckets/tansu/clusters/c/topics/t/partitions/0000000000/records/probe.batch", b"x" * 100)
        answered = time.time()
    finally:
        tracer.terminate()
        tracer.wait(timeout=10)
    synced = [(float(line.split()[1]), line) for line in trace.read_text().splitlines()
              if re.search(r"fd?a?t?a?sync\(\d+<", line) and "= 0" in line]
    before_answer = [line for at, line in synced if sent <= at <= answered]
    assert any(re.search(r"<[^>]*\.dat>", line) for line in before_answer), synced
    assert any(f"<{server.data_dir / METADATA_DB}>" in line for line in before_answer), synced
    # The commit point is the journal's unlink: the directory must be synced after it (SQLite's EXTRA).
    calls = [line for line in trace.read_text().splitlines() if sent <= float(line.split()[1]) <= answered]
    unlinked = [i for i, line in enumerate(calls) if "unlink" in line and f"{METADATA_DB}-journal" in line]
    assert unlinked and any(re.search(rf"fsync\(\d+<{re.escape(str(server.data_dir))}>\) = 0", line)
                            for line in calls[unlinked[-1]:]), calls


def test_a_store_whose_moved_metadata_is_missing_is_refused_not_started_empty(server):
    _an_older_folio_store(server)
    server.start()
    server.stop()
    (server.data_dir / METADATA_DB).unlink()  # e.g. lost to a power cut between the move's two renames
    with pytest.raises(S3StartError, match="rename that back"):
        server.start()
