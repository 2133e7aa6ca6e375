# Copyright: buildfarm.images contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What listens on a TCP port of this host, and which process it is: what `ss -ltnp` shows, read from /proc so it
needs no iproute2 (a minimal container has none) and gives the process's whole command line (which registry
configuration it serves). Usage: port_listeners.py PORT HOST [OWN_ARG...]. Prints JSON: a list of {address,
port, conflicts, own, pid, cmdline}; conflicts is whether it takes the address HOST:PORT (a wildcard on either
side, the same address, or a HOST that is not an IP address and so cannot be told apart); own is whether its
command line has one of the OWN_ARGs among its arguments (the caller's own configuration file); pid is null and
cmdline empty when this user cannot see the owner (another user's process without root)."""
from __future__ import annotations

import ipaddress
import json
import os
import socket
import sys
from typing import Sequence

LISTEN = "0A"  # TCP_LISTEN in /proc/net/tcp's st column


def _address(hex_addr: str) -> str:
    raw = bytes.fromhex(hex_addr)
    # the kernel prints each 32-bit word in host byte order (little-endian here)
    raw = b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))
    return socket.inet_ntop(socket.AF_INET if len(raw) == 4 else socket.AF_INET6, raw)


def _sockets(port: int) -> dict[str, str]:
    """Inode -> local address of the listening sockets on ``port``."""
    found = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table, encoding="ascii") as fh:
                rows = fh.read().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            addr, _sep, port_hex = fields[1].partition(":")
            if fields[3] == LISTEN and int(port_hex, 16) == port:
                found[fields[9]] = _address(addr)
    return found


def _owners(inodes: set[str]) -> dict[str, int]:
    """Inode -> pid of a process holding it."""
    owners: dict[str, int] = {}
    for pid in (p for p in os.listdir("/proc") if p.isdigit()):
        try:
            fds = os.listdir("/proc/%s/fd" % pid)
        except OSError:  # gone, or not ours to read
            continue
        for fd in fds:
            try:
                target = os.readlink("/proc/%s/fd/%s" % (pid, fd))
            except OSError:
                continue
            if target.startswith("socket:[") and target[8:-1] in inodes:
                owners.setdefault(target[8:-1], int(pid))
    return owners


def _cmdline(pid: int) -> list[str]:
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as fh:
            return [a.decode("utf-8", "replace") for a in fh.read().split(b"\0") if a]
    except OSError:
        return []


def _conflicts(address: str, host: str) -> bool:
    try:
        ours = ipaddress.ip_address(host)
    except ValueError:
        return True  # a host name: it may resolve to this address
    theirs = ipaddress.ip_address(address)
    return ours.is_unspecified or theirs.is_unspecified or ours == theirs


def listeners(port: int, host: str = "0.0.0.0", own: Sequence[str] = ()) -> list[dict]:
    sockets = _sockets(port)
    owners = _owners(set(sockets))
    out = []
    for inode, address in sorted(sockets.items(), key=lambda s: s[1]):
        pid = owners.get(inode)
        cmdline = _cmdline(pid) if pid else []
        out.append({"address": address, "port": port, "conflicts": _conflicts(address, host),
                    "own": bool(set(cmdline) & set(own)), "pid": pid, "cmdline": cmdline})
    return out


if __name__ == "__main__":
    if len(sys.argv) < 3 or not sys.argv[1].isdigit():
        sys.exit("usage: port_listeners.py PORT HOST [OWN_ARG...]")
    print(json.dumps(listeners(int(sys.argv[1]), sys.argv[2], sys.argv[3:])))
