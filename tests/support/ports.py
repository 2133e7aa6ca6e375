"""Loopback ports for the throw-away registries of tests and benchmarks. Each area has its own range so that
suites running side by side never take each other's port: registry 5100-5199, release 5300-5399,
benchmarks 5400-5499, the SSH farm's registry 5500-5599 (tests/integration/farm and benchmarks/bench_farm.py: free
on the farm network's bridge address as well, see the farm's conftest), the chain 5600-5699 (tests/integration/chain
runs beside the other integration tests, see tests/conftest.py); the local default's registry keeps 5000.
A port is free when it is probed, not reserved: two suites sharing a range could both take it."""
from __future__ import annotations

import socket


def free_port(first: int, last: int) -> int:
    for port in range(first, last + 1):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port in %d-%d" % (first, last))
