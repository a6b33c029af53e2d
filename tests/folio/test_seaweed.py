"""The S3 server of `folio up` fsyncs acknowledged writes (folio.devenv.seaweed)."""
from __future__ import annotations

import json
import urllib.request
from pathlib import Path

from folio.devenv.seaweed import SeaweedS3


def test_a_started_server_fsyncs_every_write_under_the_buckets_and_keeps_doing_so_after_a_restart(
        tmp_path: Path):
    server = SeaweedS3(tmp_path / "seaweedfs", tmp_path / "logs")
    try:
        for _ in range(2):
            server.start()
            with urllib.request.urlopen(server.filer_url + "/etc/seaweedfs/filer.conf", timeout=10) as answer:
                conf = json.loads(answer.read())
            assert [(c["locationPrefix"], c["fsync"]) for c in conf["locations"]] == [("/buckets/", True)]
            server.stop()
    finally:
        server.stop()
