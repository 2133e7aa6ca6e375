"""The tests' port helper: no test takes the local default's 5000, and BUILDFARM_TEST_PORTS narrows every range."""
from __future__ import annotations

import socket

import pytest

from ansible_collections.buildfarm.images.tests.support.ports import LOCAL_DEFAULT_PORT, free_port, port_range


def test_the_local_defaults_port_is_never_handed_out(monkeypatch):
    monkeypatch.delenv("BUILDFARM_TEST_PORTS", raising=False)
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", LOCAL_DEFAULT_PORT + 1))
        except OSError:
            pytest.skip("port 5001 is in use here")
        # 5000 is skipped even when free; 5001 is taken by this socket: nothing is left in 5000-5001
        with pytest.raises(RuntimeError, match="no free port in 5000-5001"):
            free_port(LOCAL_DEFAULT_PORT, LOCAL_DEFAULT_PORT + 1)


def test_buildfarm_test_ports_narrows_every_range(monkeypatch):
    monkeypatch.setenv("BUILDFARM_TEST_PORTS", "5700-5719")
    assert port_range(5300, 5399) == (5700, 5719)
    assert 5700 <= free_port(5100, 5199) <= 5719
    monkeypatch.delenv("BUILDFARM_TEST_PORTS")
    assert port_range(5300, 5399) == (5300, 5399)


@pytest.mark.parametrize("value", ["5700", "a-b", "80-90", "5719-5700"])
def test_a_bad_range_says_what_is_expected(monkeypatch, value):
    monkeypatch.setenv("BUILDFARM_TEST_PORTS", value)
    with pytest.raises(ValueError, match="BUILDFARM_TEST_PORTS"):
        port_range(5300, 5399)
