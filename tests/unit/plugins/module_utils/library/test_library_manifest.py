from __future__ import annotations

import pathlib

import pytest

from ansible_collections.buildfarm.images.plugins.module_utils.library import library_manifest as lm
from ansible_collections.buildfarm.images.plugins.module_utils.library.entry import Entry

FIXTURES = pathlib.Path(__file__).resolve().parents[3] / "fixtures" / "library"
COMMIT = "89abcdef0123456789abcdef0123456789abcdef"
HEAD = "Maintainers: Jane Doe <jane@example.com> (@jane)\nGitRepo: https://github.com/example/x.git\n"


def _entry(tags: str, extra: str = "") -> str:
    return "\nTags: %s\nGitCommit: %s\n%s" % (tags, COMMIT, extra)


# ---------------------------------------------------------------- round trip


@pytest.mark.parametrize("name", ["sample", "odd-spacing"])
def test_round_trip_fixtures(name):
    text = (FIXTURES / name).read_text()
    m = lm.parse(text, name)
    assert lm.dumps(m) == text
    assert m.errors() == []


def test_round_trip_golden(golden):
    files = sorted(golden.glob("*/library/*"))
    assert len(files) >= 8
    for path in files:
        text = path.read_text()
        m = lm.load(path)
        assert lm.dumps(m) == text, path
        assert m.errors() == [], path
    assert len(lm.load(golden / "2020-12-03/library/python").entries) == 30
    assert len(lm.load(golden / "2026-06-24/library/python").entries) == 42


def test_changed_field_is_rewritten_canonically():
    m = lm.load(FIXTURES / "sample")
    m.globals.set("Maintainers", ["Jane Doe <jane@example.com> (@jane)", "Max Moe <max@example.com> (@max)"])
    m.paragraphs[0].set("Directory", "1.2/bookworm-new")
    text = lm.dumps(m)
    assert "Maintainers: Jane Doe <jane@example.com> (@jane),\n             Max Moe <max@example.com> (@max)\n" in text
    assert "Directory: 1.2/bookworm-new\n" in text
    # the untouched parts keep their source text
    assert text.startswith("# a hand-written library file")
    assert "# arm64v8 images are committed to their own branch\n" in text


# ---------------------------------------------------------------- model


def test_entry_effective_values_and_overrides():
    m = lm.load(FIXTURES / "sample")
    bookworm, alpine, ws2022, _ws2025, legacy = m.entries
    assert m.maintainers == ["Jane Doe <jane@example.com> (@jane)", "John Roe <john@example.com> (@john)"]
    assert bookworm.git_repo == "https://github.com/example/sample.git"
    assert bookworm.builder == "buildkit" and ws2022.builder == "classic"
    assert bookworm.file == "Dockerfile" and alpine.file == "Dockerfile.alpine"
    # the entry's own GitCommit beats the global arm64v8-GitCommit; its missing GitFetch falls back to it
    assert bookworm.arch_value("arm64v8", "GitCommit") == COMMIT
    assert bookworm.arch_value("arm64v8", "GitFetch") == "refs/heads/dist-arm64v8"
    assert bookworm.arch_value("amd64", "GitFetch") == ""
    assert alpine.arch_value("amd64", "Directory") == "1.2/alpine/amd64"
    assert alpine.arch_value("arm32v6", "Directory") == "1.2/alpine"
    assert ws2022.constraints == ["windowsservercore-ltsc2022"]
    assert legacy.git_fetch == "refs/tags/v0.9" and legacy.directory == "."
    assert m.architectures() == ["amd64", "arm32v6", "arm64v8", "i386", "s390x", "windows-amd64"]
    assert m.entry_for_tag("alpine") == alpine
    d = alpine.to_dict()
    assert d["tags"] == ["1.2.3-alpine", "1.2-alpine", "1-alpine", "alpine"]
    assert d["architectures"] == ["arm32v6", "amd64"]
    assert d["arch_overrides"] == {"amd64": {"Directory": "1.2/alpine/amd64"}}
    assert set(d) >= {"tags", "shared_tags", "architectures", "git_repo", "git_fetch", "git_commit",
                      "directory", "file", "builder", "constraints"}


def test_architectures_default_to_global_then_amd64():
    m = lm.parse(HEAD + "Architectures: arm64v8, s390x\n" + _entry("a") + _entry("b", "Architectures: i386\n"))
    assert m.entries[0].architectures == ["arm64v8", "s390x"]
    assert m.entries[1].architectures == ["i386"]
    assert lm.parse(HEAD + _entry("a")).entries[0].architectures == ["amd64"]


def test_shared_tag_groups():
    m = lm.load(FIXTURES / "sample")
    groups = m.shared_tag_groups()
    assert [g.tags for g in groups] == [
        ["1.2.3", "1.2", "1", "latest"],
        ["1.2.3-windowsservercore", "1.2-windowsservercore"],
    ]
    assert [e.tags[0] for e in groups[0].entries] == [
        "1.2.3-bookworm", "1.2.3-windowsservercore-ltsc2022", "1.2.3-windowsservercore-ltsc2025"]
    assert [e.tags[0] for e in groups[1].entries] == [
        "1.2.3-windowsservercore-ltsc2022", "1.2.3-windowsservercore-ltsc2025"]


def test_shared_tag_groups_split_when_entry_sets_differ():
    m = lm.parse(HEAD + _entry("a", "SharedTags: x, y\nArchitectures: amd64\n")
                 + _entry("b", "SharedTags: y, z\nArchitectures: arm64v8\n"))
    assert [(g.tags, [e.tags for e in g.entries]) for g in m.shared_tag_groups()] == [
        (["x"], [["a"]]), (["y"], [["a"], ["b"]]), (["z"], [["b"]])]


# ---------------------------------------------------------------- building


def test_build_reproduces_golden_layout(golden):
    """The planner's path: header comment, global pairs and entry pairs give the official file back."""
    path = golden / "2026-06-24/library/python"
    src = lm.load(path)
    built = lm.LibraryManifest.build(
        header_comments=[line for line in src.globals.leading if line],
        global_fields=[(f.name, f.value) for f in src.globals.fields],
        entries=[[(f.name, f.value) for f in p.fields] for p in src.paragraphs],
    )
    assert lm.dumps(built) == path.read_text()


def test_build_from_data_and_lists():
    m = lm.LibraryManifest.build(
        header_comments=["generated by buildfarm"],
        global_fields=[("Maintainers", ["A <a@x> (@a)", "B <b@x> (@b)"]), ("GitRepo", "https://x/y.git"),
                       ("Builder", "")],
        entries=[[("Tags", ["1.0", "1"]), ("SharedTags", []), ("Architectures", ["amd64", "arm64v8"]),
                  ("GitCommit", COMMIT), ("Directory", "1.0")]],
    )
    assert lm.dumps(m) == (
        "# generated by buildfarm\n\n"
        "Maintainers: A <a@x> (@a),\n             B <b@x> (@b)\nGitRepo: https://x/y.git\n\n"
        "Tags: 1.0, 1\nArchitectures: amd64, arm64v8\nGitCommit: %s\nDirectory: 1.0\n" % COMMIT
    )
    assert m.validate() is m


def test_entry_from_dict_round_trips_to_dict():
    m = lm.load(FIXTURES / "sample")
    rebuilt = lm.LibraryManifest.build(global_fields=[(f.name, f.value) for f in m.globals.fields])
    for e in m.entries:
        rebuilt.add_entry(Entry.from_dict(e.to_dict(), "sample"))
    assert [e.to_dict() for e in rebuilt.entries] == [e.to_dict() for e in m.entries]
    # defaults are not repeated in the entries
    assert rebuilt.paragraphs[0].get("GitRepo") is None and rebuilt.paragraphs[0].get("File") is None
    assert rebuilt.paragraphs[1].get("amd64-Directory") == "1.2/alpine/amd64"
    assert [f.name for f in rebuilt.paragraphs[2].fields] == [
        "Tags", "SharedTags", "Architectures", "GitCommit", "Directory", "Constraints", "Builder"]
    assert lm.parse(lm.dumps(rebuilt)).errors() == []


# ---------------------------------------------------------------- errors

BAD = [
    ("missing-maintainers", "GitRepo: https://x/y.git\n" + _entry("a"), 1, "Maintainers", "",
     "at least one maintainer"),
    ("global-tags", HEAD + "Tags: a\n" + _entry("b"), 3, "Tags", "a", "not in the global paragraph"),
    ("global-sharedtags", HEAD + "SharedTags: a\n" + _entry("b"), 3, "SharedTags", "a",
     "not in the global paragraph"),
    ("bad-tag-char", HEAD + _entry("1.0, bad/tag"), 4, "Tags", "bad/tag", r"^\w[\w.-]{0,127}$"),
    ("bad-tag-start", HEAD + _entry("-1.0"), 4, "Tags", "-1.0", "a tag must match"),
    ("tag-too-long", HEAD + _entry("a" * 129), 4, "Tags", "a" * 129, "a tag must match"),
    ("bad-shared-tag", HEAD + _entry("a", "SharedTags: .x\n"), 6, "SharedTags", ".x", "a tag must match"),
    ("dup-tag-one-entry", HEAD + _entry("a, b, a"), 4, "Tags", "a", "listed twice in this entry"),
    ("dup-tag-tags-and-shared", HEAD + _entry("a", "SharedTags: a\n"), 6, "SharedTags", "a",
     "listed twice in this entry"),
    ("dup-tag-two-entries", HEAD + _entry("a, b") + _entry("c, b"), 7, "Tags", "b",
     "already used in Tags at line 4"),
    ("shared-then-simple", HEAD + _entry("a", "SharedTags: s\n") + _entry("s", "Architectures: arm64v8\n"), 8,
     "Tags", "s", "already used in SharedTags at line 6"),
    ("unknown-arch", HEAD + _entry("a", "Architectures: amd64, arm65\n"), 6, "Architectures", "arm65",
     "unknown architecture"),
    ("unknown-global-arch", HEAD + "Architectures: sparc\n" + _entry("a"), 3, "Architectures", "sparc",
     "unknown architecture"),
    ("override-unknown-arch", HEAD + _entry("a", "arm65-GitCommit: %s\n" % COMMIT), 6, "arm65-GitCommit", COMMIT,
     "override for unknown architecture 'arm65'"),
    ("short-commit", HEAD + "\nTags: a\nGitCommit: 89abcdef\n", 5, "GitCommit", "89abcdef", "40 or 64 hex"),
    ("non-hex-commit", HEAD + "\nTags: a\nGitCommit: %s\n" % ("g" * 40), 5, "GitCommit", "g" * 40, "40 or 64 hex"),
    ("bad-arch-commit", HEAD + _entry("a", "amd64-GitCommit: main\n"), 6, "amd64-GitCommit", "main",
     "40 or 64 hex"),
    ("bad-fetch", HEAD + _entry("a", "GitFetch: main\n"), 6, "GitFetch", "main", "refs/heads/... or refs/tags/"),
    ("bad-arch-fetch", HEAD + "s390x-GitFetch: refs/pull/1\n" + _entry("a"), 3, "s390x-GitFetch", "refs/pull/1",
     "refs/heads/... or refs/tags/"),
    ("unknown-field", HEAD + _entry("a", "Dockerfile: x\n"), 6, "Dockerfile", "x", "unknown field"),
    ("unknown-global-field", HEAD + "Homepage: https://x\n" + _entry("a"), 3, "Homepage", "https://x",
     "unknown field"),
    ("no-tags", HEAD + "\nGitCommit: %s\n" % COMMIT, 4, "Tags", "", "needs at least one tag"),
    ("shared-arch-clash", HEAD + _entry("a", "SharedTags: s\nArchitectures: amd64, s390x\n")
     + _entry("b", "SharedTags: s\nArchitectures: i386, s390x\n"), 11, "SharedTags", "s",
     "share architecture s390x under one shared tag"),
    # Directory and File are joined to the builder's checkout: they must not leave it
    ("directory-traversal", HEAD + _entry("a", "Directory: ../../../../etc\n"), 6, "Directory",
     "../../../../etc", "'..' leaves the repository"),
    ("directory-inner-traversal", HEAD + _entry("a", "Directory: 3.14/../../x\n"), 6, "Directory",
     "3.14/../../x", "'..' leaves the repository"),
    ("directory-absolute", HEAD + _entry("a", "Directory: /etc\n"), 6, "Directory", "/etc", "absolute path"),
    ("directory-drive", HEAD + _entry("a", "Directory: C:/Windows\n"), 6, "Directory", "C:/Windows",
     "absolute path"),
    ("directory-backslash", HEAD + _entry("a", "Directory: 3.14\\..\\..\n"), 6, "Directory", "3.14\\..\\..",
     "backslash"),
    ("file-traversal", HEAD + _entry("a", "File: ../../etc/passwd\n"), 6, "File", "../../etc/passwd",
     "'..' leaves the repository"),
    ("file-absolute", HEAD + _entry("a", "File: /etc/passwd\n"), 6, "File", "/etc/passwd", "absolute path"),
    ("global-directory-traversal", HEAD + "Directory: ..\n" + _entry("a"), 3, "Directory", "..",
     "'..' leaves the repository"),
    ("arch-directory-traversal", HEAD + _entry("a", "arm64v8-Directory: ../x\n"), 6, "arm64v8-Directory", "../x",
     "'..' leaves the repository"),
    ("arch-file-absolute", HEAD + "s390x-File: /x/Dockerfile\n" + _entry("a"), 3, "s390x-File", "/x/Dockerfile",
     "absolute path"),
    ("directory-control-char", HEAD + _entry("a", "Directory: a\tb\n"), 6, "Directory", "a\tb",
     "control character"),
]


@pytest.mark.parametrize("name,text,line,field,value,message", BAD, ids=[b[0] for b in BAD])
def test_validation_errors(name, text, line, field, value, message):
    m = lm.parse(text, "library/" + name)
    errs = m.errors()
    assert len(errs) == 1, [str(e) for e in errs]
    err = errs[0]
    assert (err.file, err.line, err.field, err.value) == ("library/" + name, line, field, value)
    assert message in err.message
    # the message names file, line, field and value
    assert str(err).startswith("library/%s:%d: field %s, value %r" % (name, line, field, value))
    with pytest.raises(lm.InvalidLibraryManifest) as exc:
        m.validate()
    assert exc.value.errors[0].field == field


def test_windows_entries_may_share_an_architecture_with_different_constraints():
    m = lm.load(FIXTURES / "sample")
    assert m.errors() == []
    ws = m.paragraphs[3]
    ws.set("Constraints", "windowsservercore-ltsc2022")
    errs = m.errors()
    assert len(errs) == 2 and all("windows-amd64" in e.message for e in errs)


def test_all_errors_are_collected():
    m = lm.parse(HEAD + _entry("a/b", "GitFetch: x\nArchitectures: arm65\n"), "f")
    assert [e.field for e in m.errors()] == ["Tags", "GitFetch", "Architectures"]
    with pytest.raises(lm.InvalidLibraryManifest, match="3 error"):
        m.validate()


@pytest.mark.parametrize("text,line,message", [
    (HEAD + "\n  continued\n", 4, "continuation line without a field"),
    (HEAD + "\nTags a\n", 4, "not a 'Field: value' line"),
    (HEAD + "\nTags: a\nTags: b\n", 5, "field given twice"),
])
def test_syntax_errors(text, line, message):
    with pytest.raises(lm.LibraryManifestError) as exc:
        lm.parse(text, "library/x")
    assert exc.value.line == line and message in str(exc.value) and "library/x:%d" % line in str(exc.value)


@pytest.mark.parametrize("directory", [".", "3.14/trixie", "./3.14", "a..b/c", "3.14/windows/servercore"])
def test_directories_inside_the_repository_are_fine(directory):
    assert lm.parse(HEAD + _entry("a", "Directory: %s\nFile: Dockerfile.x\n" % directory)).errors() == []


def test_non_utf8_file_names_the_line_and_bytes(tmp_path):
    path = tmp_path / "python"
    path.write_bytes(HEAD.encode() + b"\nTags: a\nGitCommit: caf\xe9\n")
    with pytest.raises(lm.LibraryManifestError) as exc:
        lm.load(path)
    err = exc.value
    assert (err.file, err.line, err.value) == (str(path), 5, "b'\\xe9'")
    assert "not UTF-8 text" in str(err) and str(path) + ":5" in str(err)


def test_a_built_manifest_names_the_lines_it_writes():
    """The planner validates what it builds without parsing it back: errors name lines of the text written."""
    m = lm.LibraryManifest.build(
        header_comments=["generated"], filename="library/x (as planned)",
        global_fields=[("Maintainers", ["A <a@x> (@a)", "B <b@x> (@b)"]), ("GitRepo", "https://x/y.git")],
        entries=[Entry(["1.0"], architectures=["amd64"], directory="1.0"),
                 Entry(["2.0", "bad/tag"], architectures=["amd64"], directory="2.0")])
    (err,) = m.errors()
    assert err.file == "library/x (as planned)" and (err.field, err.value) == ("Tags", "bad/tag")
    assert err.line == lm.dumps(m).splitlines().index("Tags: 2.0, bad/tag") + 1
    assert [(e.line, e.field, e.value) for e in lm.parse(lm.dumps(m)).errors()] == [(err.line, "Tags", "bad/tag")]
