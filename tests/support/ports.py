"""Loopback ports for the throw-away registries of tests and benchmarks. Each area has its own range so that
suites running side by side never take each other's port: registry 5100-5199, release 5300-5399,
benchmarks 5400-5499, the SSH farm's registry 5500-5599 (tests/integration/farm and benchmarks/bench_farm.py: free
on the farm network's bridge address as well, see the farm's conftest), the chain 5600-5699 (tests/integration/chain
runs beside the other integration tests, see tests/conftest.py), the BuildKit tests 5700-5749
(tests/integration/release/test_buildkit.py), the Windows attestation tests 5750-5799 (tests/support/windows_image.py:
tests/integration/windows and the build_windows role's functional test); the local default's registry keeps 5000.
A port is free when it is probed, not reserved: two suites sharing a range could both take it.

No test takes 5000 itself: the local default's registry (started by `make release`) may be running there, and the
test suite must pass beside it and beside a second checkout's suite. BUILDFARM_TEST_PORTS=FIRST-LAST narrows every
range to one of its own (e.g. one developer's share of a machine where several run tests at once)."""
from __future__ import annotations

import os
import socket

LOCAL_DEFAULT_PORT = 5000  # the local default's registry (inventories/local): never a test's


def port_range(first: int, last: int) -> tuple[int, int]:
    """(first, last), or the range BUILDFARM_TEST_PORTS names."""
    override = os.environ.get("BUILDFARM_TEST_PORTS", "")
    if override:
        try:
            lo, hi = (int(p) for p in override.split("-", 1))
        except ValueError:
            raise ValueError("BUILDFARM_TEST_PORTS=%r is not FIRST-LAST (e.g. 5700-5719)" % override) from None
        if not 1024 < lo <= hi < 65536:
            raise ValueError("BUILDFARM_TEST_PORTS=%r is not a range of unprivileged ports" % override)
        return lo, hi
    return first, last


def free_port(first: int, last: int) -> int:
    first, last = port_range(first, last)
    for port in range(first, last + 1):
        if port == LOCAL_DEFAULT_PORT:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port in %d-%d" % (first, last))
