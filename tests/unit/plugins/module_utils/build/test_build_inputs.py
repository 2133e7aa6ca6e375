"""Build-input digests and dependency ordering, plain Python, real files in tmp_path (the FROM parser is tested in
common/test_dockerfile.py)."""
from __future__ import annotations

import os

import pytest

from ansible_collections.buildfarm.images.plugins.module_utils.common.image_ref import ImageRef
from ansible_collections.buildfarm.images.plugins.module_utils.build.build_inputs import (
    BuildInputError,
    BuildInputs,
    build_order,
    scan_context,
)


def _ctx(tmp_path, files: dict[str, str], name="ctx"):
    root = tmp_path / name
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    return str(root)


def _inputs(root, dockerfile="FROM scratch\nCOPY busybox /bin/busybox\n", platform="linux/s390x", parents=None):
    return BuildInputs(platform, "Dockerfile", dockerfile, scan_context([root]), dict(parents or {}))


def test_from_references_name_the_same_repository_with_or_without_hub_prefixes():
    # FROM lines are matched to the release's entries by the one reference type (common/image_ref.py)
    assert ImageRef.parse("docker.io/library/python:3.14").short_repo == "python"
    assert ImageRef.parse("python", default_tag="latest").tag == "latest"
    assert ImageRef.parse("127.0.0.1:5000/amd64/busybox").short_repo == "amd64/busybox"


def test_digest_is_stable_and_ignores_mtime(tmp_path):
    root = _ctx(tmp_path, {"busybox": "binary", "Dockerfile": "FROM scratch\n"})
    first = _inputs(root).digest()
    os.utime(os.path.join(root, "busybox"), (1, 1))
    assert _inputs(root).digest() == first


@pytest.mark.parametrize("change", ["content", "mode", "new-file", "platform", "parent", "dockerfile"])
def test_digest_changes_with_every_input(tmp_path, change):
    root = _ctx(tmp_path, {"busybox": "binary"})
    before = _inputs(root, parents={"debian:trixie": "sha256:1"}).digest()
    kwargs = {"parents": {"debian:trixie": "sha256:1"}}
    if change == "content":
        (tmp_path / "ctx" / "busybox").write_text("other binary")
    elif change == "mode":
        os.chmod(tmp_path / "ctx" / "busybox", 0o755)
    elif change == "new-file":
        (tmp_path / "ctx" / "extra").write_text("x")
    elif change == "platform":
        kwargs["platform"] = "linux/arm64/v8"
    elif change == "parent":
        kwargs["parents"] = {"debian:trixie": "sha256:2"}
    elif change == "dockerfile":
        kwargs["dockerfile"] = "FROM scratch\nCOPY busybox /busybox\n"
    assert _inputs(root, **kwargs).digest() != before


def test_overlay_root_wins_and_tar_holds_pinned_dockerfile(tmp_path):
    import tarfile

    rendered = _ctx(tmp_path, {"Dockerfile": "FROM python:3\n", "a": "rendered"}, "rendered")
    extra = _ctx(tmp_path, {"a": "builder"}, "extra")
    inputs = BuildInputs("linux/amd64", "Dockerfile", "FROM sha256:x\n", scan_context([rendered, extra]))
    with tarfile.open(fileobj=inputs.tar()) as tar:
        assert tar.extractfile("a").read() == b"builder"
        assert tar.extractfile("Dockerfile").read() == b"FROM sha256:x\n"
        assert {m.mtime for m in tar.getmembers()} == {0}


def test_missing_context_is_a_clear_error(tmp_path):
    with pytest.raises(BuildInputError, match="not a directory"):
        scan_context([str(tmp_path / "nope")])


def test_build_order_puts_parents_first_and_keeps_input_order():
    keys = ["py:slim", "py:full", "tool:1", "base:1"]
    parents = {"py:slim": ["base:1"], "py:full": ["base:1"], "tool:1": ["py:full"]}
    assert build_order(keys, parents) == [["base:1"], ["py:slim", "py:full"], ["tool:1"]]


def test_build_order_ignores_external_parents_and_rejects_cycles():
    assert build_order(["a"], {"a": ["debian:trixie"]}) == [["a"]]
    with pytest.raises(BuildInputError, match="cycle.*a, b"):
        build_order(["a", "b"], {"a": ["b"], "b": ["a"]})
