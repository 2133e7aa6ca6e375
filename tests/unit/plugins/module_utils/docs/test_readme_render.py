from __future__ import annotations

import pathlib

import pytest

from ansible_collections.buildfarm.images.plugins.module_utils.docs import readme as docs
from ansible_collections.buildfarm.images.plugins.module_utils.library import library_manifest as lm

REPO = pathlib.Path(__file__).resolve().parents[5]
SAMPLE = REPO / "tests/unit/fixtures/library/sample"
BLOB = "https://github.com/example/sample/blob/89abcdef0123456789abcdef0123456789abcdef"
LEGACY = ("https://github.com/example/sample-legacy/blob/"
          "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210/Dockerfile")


def section(text: str, start: str = "# Supported tags", end: str = "# Quick reference (cont.)") -> str:
    return text[text.index(start):text.index(end)]


@pytest.fixture(scope="module")
def sample() -> lm.LibraryManifest:
    return lm.load(SAMPLE)


@pytest.fixture(scope="module")
def python_content() -> docs.DocsContent:
    return docs.load_content(str(REPO / "families/python"))


# ---------------------------------------------------------------- golden


def test_amd64_readme_matches_spec(golden, shared_dir, python_content):
    spec = (shared_dir / "spec/amd64-python-README.md").read_text()
    out = docs.render_readme(lm.load(golden / "2020-12-03/library/python"), "python", "amd64", python_content,
                             fmt="2019")
    # warning, per-architecture note, quick reference, tags (Simple and Shared) and the build badge
    assert out[:out.index("# Quick reference (cont.)")] == spec[:spec.index("# Quick reference (cont.)")]
    assert section(out) == section(spec)
    # the supported-architectures item of "Quick reference (cont.)"
    arches_line = [line for line in spec.splitlines() if line.startswith("\t[`amd64`]")]
    assert arches_line and arches_line[0] + "\n" in out


def test_generic_readme_matches_golden(golden, python_content):
    gold = (golden / "2020-12-03/generic-python-README.md").read_text()
    out = docs.render_readme(lm.load(golden / "2020-12-03/library/python"), "python", None, python_content,
                             fmt="2019")
    assert out[:out.index("# Quick reference (cont.)")] == gold[:gold.index("# Quick reference (cont.)")]
    assert section(out, "# Quick reference (cont.)", "-\t**Published") == \
        section(gold, "# Quick reference (cont.)", "-\t**Published")
    assert "**Note:**" not in out and "build status badge" not in out


def test_generic_tags_do_not_depend_on_family_content(golden):
    m = lm.load(golden / "2020-12-03/library/python")
    gold = (golden / "2020-12-03/generic-python-README.md").read_text()
    assert section(docs.render_readme(m, "python", fmt="2019")) == section(gold)


CURRENT = ["archlinux", "busybox", "clefos", "eclipse-temurin", "flink", "golang", "hello-world", "python", "redis",
           "ubuntu"]


@pytest.mark.parametrize("image", CURRENT)
def test_generic_tags_match_todays_published_readmes(golden, image):
    # the default format is the docs template since 2024-07-05, the one every README on Docker Hub has today
    published = (golden / ("2026-08-21/readme/%s.md" % image)).read_text()
    out = docs.render_readme(lm.load(golden / "2026-08-21/library" / image), image)
    assert section(out) == section(published)
    assert section(docs.render_readme(lm.load(golden / "2026-08-21/library" / image), image, fmt="2024")) == \
        section(out)


def test_golden_covers_every_link_kind(golden):
    # what the ten files exercise (so a golden refresh that lost a case is noticed)
    texts = {i: section((golden / ("2026-08-21/readme/%s.md" % i)).read_text()) for i in CURRENT}
    assert "/-/blob/" in texts["archlinux"] and "?h=refs/tags/" in texts["ubuntu"]
    assert "**No supported tags**" in texts["clefos"]
    assert "Directory: ./" in (golden / "2026-08-21/library/flink").read_text()


def test_formats_differ_only_in_blank_lines(golden):
    m = lm.load(golden / "2026-08-21/library/hello-world")
    new, old = docs.tags_markdown(m), docs.tags_markdown(m, fmt="2019")
    assert new != old and new.replace("\n\n", "\n") == old.replace("\n\n", "\n")
    assert "-\t`latest`:\n\n\t-\t[`linux`]" in new and "-\t`latest`:\n\t-\t[`linux`]" in old


def test_unknown_format_is_an_error(sample):
    with pytest.raises(docs.DocsError, match=r"format: '2023' is not a README format \(known: 2024, 2019\)"):
        docs.render_readme(sample, "sample", fmt="2023")


def test_variant_sections_follow_the_listed_tags(golden, python_content):
    m = lm.load(golden / "2026-06-24/library/python")
    generic = docs.render_readme(m, "python", None, python_content)
    amd64 = docs.render_readme(m, "python", "amd64", python_content)
    windows = docs.render_readme(m, "python", "windows-amd64", python_content)
    assert "## `python:<version>-windowsservercore`" in generic
    assert "-windowsservercore`" not in amd64 and "## `amd64/python:<version>-alpine`" in amd64
    assert "## `winamd64/python:<version>-windowsservercore`" in windows
    assert "<version>-alpine`" not in windows and "<version>-slim`" not in windows
    assert "FROM amd64/python:3\n" in amd64 and "FROM python:3\n" in generic
    assert "%%" not in amd64 + generic + windows


# ---------------------------------------------------------------- per-architecture filtering (own fixture)


def test_arch_drops_entries_from_a_shared_group(sample):
    out = docs.render_readme(sample, "sample", "s390x")
    expected = (
        "# Supported tags and respective `Dockerfile` links\n\n" + docs.FAQ_SHARED + "\n\n"
        "## Simple Tags\n\n"
        "-\t[`1.2.3-bookworm`, `1.2-bookworm`, `1-bookworm`, `bookworm`](%s/1.2/bookworm/Dockerfile)\n\n"
        "## Shared Tags\n\n"
        "-\t`1.2.3`, `1.2`, `1`, `latest`:\n"
        "\t-\t[`1.2.3-bookworm`](%s/1.2/bookworm/Dockerfile)\n\n" % (BLOB, BLOB)
    )
    # one simple-tag entry and one group: the formats differ only in the blank line after the group's header
    assert section(docs.render_readme(sample, "sample", "s390x", fmt="2019")) == expected
    assert section(out) == expected.replace("`latest`:\n", "`latest`:\n\n")
    assert "**Note:** this is the \"per-architecture\" repository for the `s390x` builds of" in out


def test_arch_without_shared_tags_still_gets_both_headings(sample):
    out = docs.render_readme(sample, "sample", "arm32v6")
    # the headings follow the library file (it has shared tags), not what survives for arm32v6, as upstream's
    # template decides; arm32v6 reads the entry's own Directory and File (amd64-Directory is amd64's only)
    assert section(out) == section(docs.render_readme(sample, "sample", "arm32v6", fmt="2019")) == (
        "# Supported tags and respective `Dockerfile` links\n\n" + docs.FAQ_SHARED + "\n\n"
        "## Simple Tags\n\n"
        "-\t[`1.2.3-alpine`, `1.2-alpine`, `1-alpine`, `alpine`](%s/1.2/alpine/Dockerfile.alpine)\n\n"
        "## Shared Tags\n\n" % BLOB
    )


def test_library_without_shared_tags_has_no_headings():
    m = lm.parse("Maintainers: A <a@x> (@a)\nGitRepo: https://github.com/x/y.git\nGitCommit: %s\n\n"
                 "Tags: 1, latest\n\nTags: 0\nDirectory: ./old//x/../0\n" % ("a" * 40))
    blob = "https://github.com/x/y/blob/%s" % ("a" * 40)
    assert docs.tags_markdown(m) == "-\t[`1`, `latest`](%s/Dockerfile)\n\n-\t[`0`](%s/old/0/Dockerfile)" % (blob, blob)
    assert docs.tags_markdown(m, fmt="2019") == docs.tags_markdown(m).replace("\n\n", "\n")


def test_generic_readme_of_a_library_without_entries():
    m = lm.parse("Maintainers: A <a@x> (@a)\nGitRepo: https://github.com/x/y.git\n")
    for fmt in docs.FORMATS:
        out = docs.render_readme(m, "y", fmt=fmt)
        assert section(out) == "# Supported tags and respective `Dockerfile` links\n\n**No supported tags**\n\n"
        assert "None" not in out


def test_windows_arch_keeps_both_windows_groups(sample):
    out = docs.render_readme(sample, "sample", "windows-amd64")
    tags = section(out)
    assert "-\t`1.2.3`, `1.2`, `1`, `latest`:\n\n\t-\t[`1.2.3-windowsservercore-ltsc2022`]" in tags
    assert "-\t`1.2.3-windowsservercore`, `1.2-windowsservercore`:\n\n" in tags
    old = section(docs.render_readme(sample, "sample", "windows-amd64", fmt="2019"))
    assert "-\t`1.2.3`, `1.2`, `1`, `latest`:\n\t-\t[`1.2.3-windowsservercore-ltsc2022`]" in old
    assert "bookworm" not in tags
    assert "[`windows-amd64`](https://hub.docker.com/r/winamd64/sample/)" in out


def test_arch_with_no_entries_gets_the_not_supported_warning(sample, python_content):
    out = docs.render_readme(sample, "sample", "riscv64", python_content)
    assert section(out) == (
        "# Supported tags and respective `Dockerfile` links\n\n"
        "**WARNING:** THIS IMAGE *IS NOT SUPPORTED* ON THE `riscv64` ARCHITECTURE\n\n"
    )
    assert "build status badge" not in out


def test_generic_links_amd64_build_or_first_architecture(sample):
    tags = section(docs.render_readme(sample, "sample"))
    # amd64's own Directory override
    assert "`alpine`](%s/1.2/alpine/amd64/Dockerfile.alpine)" % BLOB in tags
    # windows-only entries link their first (only) architecture
    assert "`1.2-windowsservercore-ltsc2025`](%s/1.2/windows/windowsservercore-ltsc2025/Dockerfile)" % BLOB in tags
    # per-entry GitRepo, a 64-digit commit, Directory "."
    assert "-\t[`0.9-bookworm`](%s)" % LEGACY in tags
    assert tags.count("\n-\t`") == 2  # two shared groups


def test_generic_link_uses_per_arch_overrides():
    m = lm.parse(
        "Maintainers: A <a@x> (@a)\nGitRepo: https://github.com/x/y.git\n\n"
        "Tags: 1\nArchitectures: arm64v8, amd64\nGitCommit: %s\namd64-GitCommit: %s\namd64-GitRepo: git://github.com/x/z.git\n"
        "amd64-Directory: ./amd64\namd64-File: Dockerfile.amd64\n"
        % ("a" * 40, "b" * 40))
    tags = section(docs.render_readme(m, "y"))
    assert "-\t[`1`](https://github.com/x/z/blob/%s/amd64/Dockerfile.amd64)" % ("b" * 40) in tags
    assert "https://github.com/x/y/blob/%s/Dockerfile)" % ("a" * 40) in section(docs.render_readme(m, "y", "arm64v8"))


@pytest.mark.parametrize("repo,fetch,url", [
    ("https://gitlab.com/g/r.git", "", "https://gitlab.com/g/r/-/blob/{c}/d/Dockerfile"),
    ("git://gitlab.example.org/g/r", "", "https://gitlab.example.org/g/r/-/blob/{c}/d/Dockerfile"),
    ("https://git.launchpad.net/p/r", "refs/tags/v1", "https://git.launchpad.net/p/r/tree/d/Dockerfile?h=refs/tags/v1&id={c}"),
    # bashbrew's default GitFetch
    ("https://git.launchpad.net/p/r", "", "https://git.launchpad.net/p/r/tree/d/Dockerfile?h=refs/heads/master&id={c}"),
    ("https://github.com/o/r", "refs/heads/dist", "https://github.com/o/r/blob/{c}/d/Dockerfile"),
    # any other host (an scp-like address included, as the template reads it) is listed without a link
    ("https://git.example.org/o/r.git", "", ""),
    ("git@github.com:o/r.git", "", ""),
])
def test_link_per_host(repo, fetch, url):
    c = "c" * 40
    m = lm.parse("Maintainers: A <a@x> (@a)\n\nTags: 1\nGitRepo: %s\nGitCommit: %s\nDirectory: ./d/\n%s"
                 % (repo, c, "GitFetch: %s\n" % fetch if fetch else ""))
    assert docs.dockerfile_url(m.entries[0], "amd64") == url.format(c=c)
    line = docs.tags_markdown(m)
    assert line == ("-\t[`1`](%s)" % url.format(c=c) if url else "-\t`1`")


def test_entry_without_commit_is_listed_without_link():
    m = lm.parse("Maintainers: A <a@x> (@a)\n\nTags: 1, one\n")
    assert "-\t`1`, `one`\n" in docs.render_readme(m, "y")


# ---------------------------------------------------------------- content


def test_defaults_without_family_content(sample):
    out = docs.render_readme(sample, "sample", "amd64")
    assert "-\t**Maintained by**:  \n\t[the sample maintainers](https://github.com/example/sample)\n" in out
    assert "-\t**Where to file issues**:  \n\t[https://github.com/example/sample/issues]" in out
    assert out.endswith("within.\n") and "# License\n" in out
    assert "# Image Variants" not in out


def test_busybox_content_loads_and_renders():
    content = docs.load_content(str(REPO / "families/busybox"))
    m = lm.parse("Maintainers: A <a@x> (@a)\n\nTags: 1.35.0-glibc, 1.35-glibc\nSharedTags: 1.35.0, 1.35, 1, latest\n"
                 "Architectures: amd64, arm64v8\n")
    out = docs.render_readme(m, "busybox", "arm64v8", content)
    assert "# What is BusyBox?" in out and "## `arm64v8/busybox:<version>-glibc`" in out
    assert "$ docker run -it --rm arm64v8/busybox\n" in out and "%%" not in out


@pytest.mark.parametrize("files,message", [
    ({"meta.yml": "---\nhomepage: x\n"}, "unknown key(s) homepage"),
    ({"meta.yml": "---\nvariants: [slim]\n"}, "variant 'slim' is listed but"),
    ({"meta.yml": "---\nbuild_badge: {image: x}\n"}, "build_badge must be a mapping"),
    ({"meta.yml": "---\n- a\n"}, "expected a mapping"),
])
def test_bad_content_folder(tmp_path, files, message):
    (tmp_path / "docs").mkdir()
    for name, text in files.items():
        (tmp_path / "docs" / name).write_text(text)
    with pytest.raises(docs.DocsError, match=r"meta\.yml") as exc:
        docs.load_content(str(tmp_path))
    assert message in str(exc.value)


def test_missing_family_folder_is_an_error(tmp_path):
    with pytest.raises(docs.DocsError, match="does not exist"):
        docs.load_content(str(tmp_path / "nope"))


def test_unknown_architecture_is_an_error(sample):
    with pytest.raises(ValueError, match="unknown architecture 'arm65'"):
        docs.render_readme(sample, "sample", "arm65")


@pytest.mark.parametrize("link", ["docs/content.md", "docs/meta.yml", "docs/license.md", "docs/variant-slim.md",
                                  "docs"])
def test_symlink_out_of_the_family_is_refused(tmp_path, link):
    """A family is data anyone may propose: its README content may not be a symlink to a controller's file."""
    family, outside = tmp_path / "fam", tmp_path / "outside"
    (family / "docs").mkdir(parents=True)
    (family / "docs" / "meta.yml").write_text("variants: [slim]\n")
    (family / "docs" / "variant-slim.md").write_text("slim\n")
    outside.mkdir()
    (outside / "meta.yml").write_text("variants: [slim]\n")
    (outside / "variant-slim.md").write_text("SECRET\n")
    target = outside if link == "docs" else outside / "secret"
    if link != "docs":
        target.write_text("variants: []\n" if link.endswith(".yml") else "SECRET\n")
    (family / link).unlink(missing_ok=True) if link != "docs" else __import__("shutil").rmtree(family / "docs")
    (family / link).symlink_to(target)
    with pytest.raises(docs.DocsError, match="must be inside the family folder") as exc:
        docs.load_content(str(family))
    assert exc.value.field == "family_dir" and exc.value.value == link
    assert "it resolves to %s" % target in str(exc.value) and "SECRET" not in str(exc.value)


def test_dangling_symlink_out_of_the_family_is_refused_not_skipped(tmp_path):
    (tmp_path / "fam" / "docs").mkdir(parents=True)
    (tmp_path / "fam" / "docs" / "license.md").symlink_to("/nonexistent/license")
    with pytest.raises(docs.DocsError, match="docs/license.md"):
        docs.load_content(str(tmp_path / "fam"))


def test_symlink_inside_the_family_is_read(tmp_path):
    (tmp_path / "fam" / "docs").mkdir(parents=True)
    (tmp_path / "fam" / "shared.md").write_text("shared content\n")
    (tmp_path / "fam" / "docs" / "content.md").symlink_to("../shared.md")
    assert docs.load_content(str(tmp_path / "fam")).content == "shared content"
