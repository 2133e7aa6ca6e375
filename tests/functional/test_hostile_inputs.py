"""Hostile inputs, table-driven (issue 10, the family, library-file and module-input side): a family is data, not
code, and every bad input gets its own clear error.

Each case prepares a copy of the tiny fixture family (and its parents' library files) in the test's folder, plants
something hostile (a template reaching for Python internals, a symlink out of the family, a traversal in a library
file's Directory, a malformed `images` item ...) and runs the modules in process as the playbooks do. Every case
asserts:

- the task failed with a message naming the file (where there is one), the field and the value, and saying what
  is wrong; no traceback, no bare key;
- nothing was written (no rendered tree, no library file), nothing ran (the commands the templates try would
  create a marker file) and no byte of the file outside the family leaked into the result.

The registry side of issue 10 (tags and repositories in URLs, credentials, TLS) is tested with the registry code.
"""
from __future__ import annotations

import json
import pathlib
import shutil
from dataclasses import dataclass
from typing import Callable

import pytest

from ansible_collections.buildfarm.images.tests.support.run_module import run_module

FIXTURES = pathlib.Path(__file__).resolve().parents[1] / "unit" / "fixtures" / "families"
SECRET = "root:x:0:0:SECRET-OUTSIDE-THE-FAMILY"  # the content of the file outside the family: must never leak
MARKER = "pwned"  # a template that manages to run a command creates this file in the test's folder
COMMIT = "89abcdef0123456789abcdef0123456789abcdef"
LIBRARY_HEAD = "Maintainers: Jane Doe <jane@example.invalid> (@jane)\nGitRepo: https://example.invalid/tiny.git\n"
REF = "127.0.0.1:1/amd64/tiny:1.0"  # a closed port: a push that went out would fail differently


@dataclass
class Hostile:
    id: str
    plant: Callable[[pathlib.Path], None]  # makes the hostile input in the test's folder (tiny/, parents/, ...)
    runs: str  # "family": dockerfiles and release_plan; "library": library_manifest; else a module and its args
    field: str
    value: str  # appears in the message
    problem: str  # appears in the message
    file: str = ""  # the error's file ends with this (relative to the test's folder); "" for module options
    args: Callable[[pathlib.Path], dict] | None = None


# ---------------------------------------------------------------- planting helpers

def _template(text: str, name: str = "linux.j2") -> Callable[[pathlib.Path], None]:
    def plant(root: pathlib.Path) -> None:
        (root / "tiny" / name).write_text("FROM scratch\n" + text.replace("@ROOT@", str(root)) + "\n")
    return plant


def _family_yml(old: str, new: str) -> Callable[[pathlib.Path], None]:
    def plant(root: pathlib.Path) -> None:
        path = root / "tiny" / "family.yml"
        text = path.read_text()
        assert old in text, old
        path.write_text(text.replace(old, new.replace("@ROOT@", str(root))))
    return plant


def _symlink_out(name: str, content: str = SECRET) -> Callable[[pathlib.Path], None]:
    """`tiny/<name>` becomes a symlink to a file outside the family holding `content`."""
    def plant(root: pathlib.Path) -> None:
        target = root / ("outside-" + name.replace("/", "-"))
        target.write_text(content)
        link = root / "tiny" / name
        link.parent.mkdir(parents=True, exist_ok=True)
        link.unlink(missing_ok=True)
        link.symlink_to(target)
    return plant


def _docs_folder_out(root: pathlib.Path) -> None:
    """`tiny/docs` becomes a symlink to a folder outside the family whose content.md holds the secret."""
    (root / "outside-docs").mkdir()
    (root / "outside-docs" / "content.md").write_text(SECRET)
    (root / "tiny" / "docs").symlink_to(root / "outside-docs")


def _both(*plants: Callable[[pathlib.Path], None]) -> Callable[[pathlib.Path], None]:
    def plant(root: pathlib.Path) -> None:
        for p in plants:
            p(root)
    return plant


def _library(entry_fields: str, head: str = LIBRARY_HEAD) -> Callable[[pathlib.Path], None]:
    def plant(root: pathlib.Path) -> None:
        (root / "library").mkdir()
        (root / "library" / "tiny").write_text(head + "\nTags: 1.0\nGitCommit: %s\n%s" % (COMMIT, entry_fields))
    return plant


def _library_bytes(data: bytes) -> Callable[[pathlib.Path], None]:
    def plant(root: pathlib.Path) -> None:
        (root / "library").mkdir()
        (root / "library" / "tiny").write_bytes(data)
    return plant


def _regular_file(name: str) -> Callable[[pathlib.Path], None]:
    return lambda root: (root / name).write_text("a regular file, not a folder\n")


def _nothing(root: pathlib.Path) -> None:
    pass


def _push(images: list, **options) -> Callable[[pathlib.Path], dict]:
    return lambda root: dict({"images": images}, **options)


def _readme(root: pathlib.Path, **options) -> dict:
    """The readme module's arguments: one entry as data, and the hostile `options`."""
    return dict({"name": "tiny", "entries": [{"tags": ["1.0"], "architectures": ["amd64"]}]}, **options)


def _item(**fields) -> dict:
    return dict({"key": "tiny:1.0", "image_id": "sha256:" + "0" * 64, "tags": [REF], "status": "built"}, **fields)


OUT_OF_SANDBOX = "template reaches outside its data (refused by the sandbox"
OUTSIDE = "must be inside the family folder"
TEMPLATE_OUTSIDE = "template resolves outside the family folder"
LINUX, FAMILY = "tiny/linux.j2", "tiny/family.yml"

CASES = [
    # templates are data: Jinja's immutable sandbox refuses Python internals, so none of these runs anything
    Hostile("template-subclasses", _template("{{ ''.__class__.__mro__[1].__subclasses__() }}"), "family",
            "1.9/bookworm", "'__class__' of 'str' object", OUT_OF_SANDBOX, LINUX),
    Hostile("template-cycler-globals-popen",
            _template("{{ cycler.__init__.__globals__.os.popen('touch @ROOT@/pwned').read() }}"), "family",
            "1.9/bookworm", "__init__", OUT_OF_SANDBOX, LINUX),
    Hostile("template-lipsum-globals-system",
            _template("{{ lipsum.__globals__['os'].system('touch @ROOT@/pwned') }}"), "family",
            "1.9/bookworm", "__globals__", OUT_OF_SANDBOX, LINUX),
    Hostile("template-namespace-init-globals",
            _template("{% set n = namespace() %}{{ n.__init__.__globals__ }}"), "family",  # hidden, not found
            "1.9/bookworm", "__init__", "undefined template variable", LINUX),
    Hostile("template-format-string-attribute", _template("{{ '{0.__class__}'.format(data) }}"), "family",
            "1.9/bookworm", "'__class__' of 'dict' object", OUT_OF_SANDBOX, LINUX),
    Hostile("template-mutates-data", _template("{{ data.update({'version': '6.6.6'}) }}"), "family",
            "1.9/bookworm", "update", OUT_OF_SANDBOX, LINUX),
    Hostile("template-mutates-vars", _template("{{ vars.clear() }}"), "family",
            "1.9/bookworm", "clear", OUT_OF_SANDBOX, LINUX),
    Hostile("template-huge-string", _template("{{ 'x' * 1000000000 }}"), "family",
            "1.9/bookworm", "result too large", OUT_OF_SANDBOX, LINUX),
    Hostile("template-huge-power", _template("{{ 9 ** 99999999 }}"), "family",
            "1.9/bookworm", "exponent too large", OUT_OF_SANDBOX, LINUX),
    Hostile("template-python-error", _template("{{ 1 // 0 }}"), "family",
            "1.9/bookworm", "ZeroDivisionError", "template raised an error", LINUX),
    Hostile("template-not-utf8", lambda root: (root / LINUX).write_bytes(b"FROM scratch\nLABEL x=\xff\n"),
            "family", "(template)", "linux.j2", "template is not UTF-8 text", LINUX),
    # every file a family reads resolves inside the family folder, symlinks followed
    Hostile("template-include-parent", _both(_symlink_out("unused"), _template("{% include '../secret' %}")),
            "family", "(template)", "../secret", TEMPLATE_OUTSIDE, "tiny/../secret"),
    Hostile("template-include-absolute", _template("{% include '/etc/passwd' %}"), "family",
            "(template)", "/etc/passwd", TEMPLATE_OUTSIDE, "/etc/passwd"),
    Hostile("template-include-symlink-out",
            _both(_symlink_out("parts/common.j2"), _template("{% include 'parts/common.j2' %}")), "family",
            "(template)", "parts/common.j2", TEMPLATE_OUTSIDE + " (it resolves to", "tiny/parts/common.j2"),
    Hostile("template-import-symlink-out",
            _both(_symlink_out("macros.j2"), _template("{% import 'macros.j2' as m %}")), "family",
            "(template)", "macros.j2", TEMPLATE_OUTSIDE, "tiny/macros.j2"),
    Hostile("template-symlink-out", _symlink_out("linux.j2"), "family",
            "templates.*", "linux.j2", "template " + OUTSIDE + " (it resolves to", FAMILY),
    Hostile("template-path-absolute", _family_yml('"*": linux.j2', '"*": /etc/passwd'), "family",
            "templates.*", "/etc/passwd", "template " + OUTSIDE, FAMILY),
    Hostile("template-path-traversal", _family_yml('"*": linux.j2', '"*": ../../../../etc/passwd'), "family",
            "templates.*", "../../../../etc/passwd", "template " + OUTSIDE, FAMILY),
    Hostile("versions-path-traversal", _family_yml("versions: versions.json", "versions: ../../etc/passwd"),
            "family", "versions", "../../etc/passwd", "versions file " + OUTSIDE, FAMILY),
    Hostile("versions-path-absolute", _family_yml("versions: versions.json", "versions: /etc/passwd"),
            "family", "versions", "/etc/passwd", "versions file " + OUTSIDE, FAMILY),
    Hostile("versions-symlink-out", _symlink_out("versions.json", '{"1.0": {"version": "1.0.0"}}'), "family",
            "versions", "versions.json", "versions file " + OUTSIDE + " (it resolves to", FAMILY),
    Hostile("family-yml-symlink-out",
            _symlink_out("family.yml", (FIXTURES / "tiny" / "family.yml").read_text()), "family",
            "(file)", "family.yml", "family.yml " + OUTSIDE + " (it resolves to", FAMILY),
    Hostile("tests-file-symlink-out", _symlink_out("tests.yml"), "family",
            "build.tests", "tests.yml", "tests file " + OUTSIDE + " (it resolves to", FAMILY),
    Hostile("tests-file-traversal", _family_yml("builder: buildkit", "builder: buildkit\nbuild:\n  tests: ../x.yml"),
            "family", "build.tests", "../x.yml", OUTSIDE, FAMILY),
    # a library file's Directory and File cannot leave the repository
    Hostile("library-directory-traversal", _library("Directory: ../../../../etc\n"), "library",
            "Directory", "../../../../etc", "'..' leaves the repository", "library/tiny:6"),
    Hostile("library-directory-absolute", _library("Directory: /etc\n"), "library",
            "Directory", "/etc", "absolute path", "library/tiny:6"),
    Hostile("library-directory-windows-drive", _library("Directory: C:/Windows/System32\n"), "library",
            "Directory", "C:/Windows/System32", "absolute path", "library/tiny:6"),
    Hostile("library-directory-backslash", _library("Directory: 1.0\\..\\..\\..\n"), "library",
            "Directory", "1.0\\\\..", "backslash", "library/tiny:6"),
    Hostile("library-file-traversal", _library("File: ../../../etc/passwd\n"), "library",
            "File", "../../../etc/passwd", "'..' leaves the repository", "library/tiny:6"),
    Hostile("library-file-absolute", _library("File: /etc/shadow\n"), "library",
            "File", "/etc/shadow", "absolute path", "library/tiny:6"),
    Hostile("library-arch-directory-traversal", _library("Directory: 1.0\narm64v8-Directory: 1.0/../../..\n"),
            "library", "arm64v8-Directory", "1.0/../../..", "'..' leaves the repository", "library/tiny:7"),
    Hostile("library-arch-file-absolute", _library("", head=LIBRARY_HEAD + "s390x-File: /Dockerfile\n"), "library",
            "s390x-File", "/Dockerfile", "absolute path", "library/tiny:3"),
    Hostile("library-global-directory-parent", _library("", head=LIBRARY_HEAD + "Directory: ..\n"), "library",
            "Directory", "'..'", "'..' leaves the repository", "library/tiny:3"),
    Hostile("library-not-utf8", _library_bytes(LIBRARY_HEAD.encode() + b"\nTags: caf\xe9\n"), "library",
            "", "\\xe9", "not UTF-8 text", "library/tiny:4"),
    Hostile("library-latin1-maintainer", _library_bytes(b"Maintainers: Jos\xe9 <j@example.invalid> (@j)\n"),
            "library", "", "\\xe9", "not UTF-8 text", "library/tiny:1"),
    # module inputs: a bad item or option is named before the engine or a registry is asked anything
    Hostile("push-item-without-key", _nothing, "image_push", "images[0].key", "None", "missing or not a string",
            args=_push([{"image_id": "sha256:" + "0" * 64, "tags": [REF], "status": "built"}])),
    Hostile("push-item-key-not-a-string", _nothing, "image_push", "images[1].key", "['x']",
            "missing or not a string", args=_push([_item(), _item(key=["x"])])),
    Hostile("push-item-without-image-id", _nothing, "image_push", "images[0].image_id", "None",
            "missing or not a string", args=_push([_item(image_id=None)])),
    Hostile("push-item-without-tags", _nothing, "image_push", "images[0].tags", "None", "non-empty list",
            args=_push([_item(tags=None)])),
    Hostile("push-item-tags-a-string", _nothing, "image_push", "images[0].tags", REF, "non-empty list",
            args=_push([_item(tags=REF)])),
    Hostile("push-retries-negative", _nothing, "image_push", "retries", "-1", "must be 0 or more",
            args=_push([_item()], retries=-1)),
    Hostile("push-max-workers-zero", _nothing, "image_push", "max_workers", "0", "must be 1 or more",
            args=_push([_item()], max_workers=0)),
    # where the outputs go: a path below a regular file, or a folder where a file belongs
    Hostile("plan-dest-below-a-file", _regular_file("blocker"), "release_plan", "dest", "blocker/library/tiny",
            "blocker is a file, not a folder", "blocker/library/tiny",
            args=lambda root: {"family_dir": str(root / "tiny"), "parents_library": str(root / "parents"),
                               "dest": str(root / "blocker" / "library" / "tiny")}),
    Hostile("plan-dest-a-folder", _nothing, "release_plan", "dest", "parents", "is a folder, not a file", "parents",
            args=lambda root: {"family_dir": str(root / "tiny"), "parents_library": str(root / "parents"),
                               "dest": str(root / "parents")}),
    Hostile("render-dest-below-a-file", _regular_file("blocker"), "dockerfiles", "dest_dir", "blocker/render",
            "blocker is a file, not a folder", "blocker/render",
            args=lambda root: {"family_dir": str(root / "tiny"), "dest_dir": str(root / "blocker" / "render")}),
    Hostile("readme-dest-below-a-file", _regular_file("blocker"), "readme", "dest", "blocker/README.md",
            "blocker is a file, not a folder", "blocker/README.md",
            args=lambda root: _readme(root, dest=str(root / "blocker" / "README.md"))),
    Hostile("readme-dest-dir-below-a-file", _regular_file("blocker"), "readme", "dest_dir", "blocker/docs",
            "blocker is a file, not a folder", "blocker/docs/README.md",
            args=lambda root: _readme(root, dest_dir=str(root / "blocker" / "docs"))),
    Hostile("readme-mode-setuid", _nothing, "readme", "mode", "'6777'", "setuid, setgid and sticky bits are refused",
            "out/README.md", args=lambda root: _readme(root, dest=str(root / "out" / "README.md"), mode="6777")),
    Hostile("readme-docs-symlink-out", _symlink_out("docs/content.md"), "readme", "family_dir", "docs/content.md",
            "README content must be inside the family folder (it resolves to", "tiny/docs/content.md",
            args=lambda root: _readme(root, family_dir=str(root / "tiny"), dest=str(root / "out" / "README.md"))),
    Hostile("readme-docs-folder-symlink-out", _docs_folder_out, "readme", "family_dir", "'docs'",
            "README content must be inside the family folder (it resolves to", "tiny/docs",
            args=lambda root: _readme(root, family_dir=str(root / "tiny"), dest=str(root / "out" / "README.md"))),
    Hostile("report-dest-below-a-file", _regular_file("blocker"), "release_report", "dest_dir", "blocker/report",
            "blocker is a file, not a folder", "blocker/report/release-report.",
            args=lambda root: {"release": [], "builders": {}, "dest_dir": str(root / "blocker" / "report")}),
]


def _results(case: Hostile, root: pathlib.Path) -> list[dict]:
    out = root / "out"
    if case.runs == "family":
        return [run_module("dockerfiles", {"family_dir": str(root / "tiny"), "dest_dir": str(out / "render")}),
                run_module("release_plan", {"family_dir": str(root / "tiny"), "parents_library": str(root / "parents"),
                                            "dest": str(out / "library" / "tiny")})]
    if case.runs == "library":
        return [run_module("library_manifest", {"library_file": str(root / "library" / "tiny")})]
    return [run_module(case.runs, case.args(root))]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_hostile_input(case: Hostile, tmp_path: pathlib.Path):
    shutil.copytree(FIXTURES / "tiny", tmp_path / "tiny")
    shutil.copytree(FIXTURES / "parents", tmp_path / "parents")
    case.plant(tmp_path)
    before = sorted(str(p) for p in tmp_path.rglob("*"))

    for r in _results(case, tmp_path):
        msg = r.get("msg", "")
        assert r.get("failed") is True, r
        assert "exception" not in r and "Traceback" not in msg and "MODULE FAILURE" not in msg, r
        assert case.problem in msg, msg
        assert case.value in msg, msg
        if case.runs == "library":  # every validation problem is listed with its own file, line, field and value
            assert any(e["field"] == case.field and e["file"].endswith(case.file.split(":")[0])
                       for e in r["errors"]), r
        else:
            assert r["field"] == case.field, msg
            assert "field %s" % case.field in msg, msg
        if case.file:
            assert case.file.replace("@ROOT@", str(tmp_path)) in msg.replace(str(tmp_path) + "/", ""), msg
        assert SECRET not in json.dumps(r), "the file outside the family leaked into the result"

    assert not (tmp_path / MARKER).exists(), "a template ran a command"
    assert not (tmp_path / "out").exists(), "something was written"
    assert sorted(str(p) for p in tmp_path.rglob("*")) == before, "a file was created or removed"


def test_unknown_image_id_is_named_before_anything_is_pushed(tmp_path):
    """A real engine is asked about the image (skipped without one); the registry on a closed port never is."""
    docker = pytest.importorskip("docker")
    try:
        docker.from_env().ping()
    except Exception as exc:  # noqa: BLE001 - any failure to reach the engine means there is none to test with
        pytest.skip("no Docker engine: %s" % exc)
    gone = "sha256:" + "e" * 64
    r = run_module("image_push", {"images": [_item(key="tiny:1.0", image_id=gone),
                                             _item(key="tiny:2.0", image_id=gone, tags=[REF + "-2"])],
                                  "attestations": False})
    assert r["failed"] is True and r["field"] == "image_id", r
    assert "%s (entry tiny:1.0), %s (entry tiny:2.0)" % (gone, gone) in r["msg"]
    assert "no such image in the engine" in r["msg"] and "Nothing was pushed" in r["msg"]
    assert "images" not in r  # no tag was tried


def test_every_case_has_its_own_error():
    assert len(CASES) >= 40
    assert len({c.id for c in CASES}) == len(CASES)
    # no two cases expect the same message for the same field and value: each input is told apart
    assert len({(c.runs, c.field, c.value, c.problem, c.file) for c in CASES}) == len(CASES)
