"""Ports for the dev harness's servers (folio.devenv.server_process)."""
from __future__ import annotations

import socket
from pathlib import Path

from folio.devenv.server_process import free_port


def test_a_free_port_is_bindable_and_below_the_range_the_os_gives_outgoing_connections():
    low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    for _ in range(20):
        port = free_port()
        assert 1024 <= port < low
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", port))
