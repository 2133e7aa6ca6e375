from __future__ import annotations

import pytest

from ansible_collections.buildfarm.images.plugins.module_utils.common import architectures as A


def test_every_bashbrew_name_maps_to_its_oci_platform():
    want = {
        "amd64": "linux/amd64",
        "arm32v5": "linux/arm/v5",
        "arm32v6": "linux/arm/v6",
        "arm32v7": "linux/arm/v7",
        "arm64v8": "linux/arm64/v8",
        "i386": "linux/386",
        "mips64le": "linux/mips64le",
        "ppc64le": "linux/ppc64le",
        "riscv64": "linux/riscv64",
        "s390x": "linux/s390x",
        "windows-amd64": "windows/amd64",
    }
    assert {n: str(a.platform) for n, a in A.ARCHITECTURES.items()} == want
    assert A.namespace_for("windows-amd64") == "winamd64"
    assert A.namespace_for("arm64v8", {"arm64v8": "mirror-arm64"}) == "mirror-arm64"


def test_canonical_order_linux_first_amd64_arm64_then_alpha_variants_newest_first():
    names = ["windows-amd64", "s390x", "arm32v5", "i386", "arm32v7", "arm64v8", "amd64", "arm32v6", "ppc64le"]
    assert A.sort_names(names) == [
        "amd64", "arm64v8", "i386", "arm32v7", "arm32v6", "arm32v5", "ppc64le", "s390x", "windows-amd64",
    ]


def test_windows_os_version_newest_first():
    old = A.Platform("windows", "amd64", os_version="10.0.17763.6893")
    new = A.Platform("windows", "amd64", os_version="10.0.26100.3476")
    mid = A.Platform("windows", "amd64", os_version="10.0.20348.3328")
    lin = A.Platform("linux", "amd64")
    assert A.sort_platforms([old, lin, new, mid]) == [lin, new, mid, old]


def test_platform_and_uname_lookups():
    assert A.from_platform(A.Platform("linux", "arm64")).name == "arm64v8"
    assert A.from_platform(A.Platform("linux", "arm", "v6")).name == "arm32v6"
    assert A.from_uname("s390x").name == "s390x"
    with pytest.raises(A.UnknownArchitecture, match="sparc"):
        A.get("sparc")
    with pytest.raises(A.UnknownArchitecture):
        A.from_uname("sparc64")


def test_oci_round_trip_keeps_os_version_and_features():
    p = A.Platform("windows", "amd64", os_version="10.0.20348.1", os_features=("win32k",))
    assert A.Platform.from_oci(p.to_oci()) == p
    assert p.to_oci() == {"architecture": "amd64", "os": "windows", "os.version": "10.0.20348.1",
                          "os.features": ["win32k"]}
