"""family.yml `sources:` (what a family builds from source): validated with file, field and value, rendered per
entry in the family templates' sandbox with their variables, and carried per entry into the release bundle."""
from __future__ import annotations

import json
import pathlib
import shutil

import pytest
import yaml

from ansible_collections.buildfarm.images.plugins.module_utils.build.bundle import open_bundle
from ansible_collections.buildfarm.images.plugins.module_utils.family.definition import FamilyError, load_family
from ansible_collections.buildfarm.images.plugins.module_utils.family.render import RenderError, render_sources
from ansible_collections.buildfarm.images.plugins.module_utils.release import batch

REPO = pathlib.Path(__file__).resolve().parents[5]
FIXTURES = REPO / "tests" / "unit" / "fixtures" / "families"

TINY_SOURCES = [
    {"name": "tiny",
     "url": "https://downloads.example.invalid/tiny/{{ version_numeric }}/tiny-{{ version }}.tar.xz",
     "sha256": "{{ data.checksums.source.sha256 }}",
     "signing_key": "{{ vars.signers.get(series, '') }}",
     "exclude_variants": ["windows/*"],
     "url_arg": {"name": "TINY_SOURCE_URL", "default": "https://downloads.example.invalid/tiny"}},
]


def _tiny(tmp_path: pathlib.Path, sources, keys=None) -> pathlib.Path:
    families = tmp_path / "families"
    dest = families / "tiny"
    shutil.copytree(FIXTURES / "tiny", dest)
    data = yaml.safe_load((dest / "family.yml").read_text())
    data["sources"] = sources
    data["template_vars"]["signers"] = keys if keys is not None else {"2.0": "A035C8C19219BA821ECEA86B64E628F8D684696D"}
    (dest / "family.yml").write_text(yaml.safe_dump(data, sort_keys=False))
    return dest


def test_sources_render_per_entry_with_the_templates_variables(tmp_path):
    family = load_family(str(_tiny(tmp_path, TINY_SOURCES)))
    rendered = render_sources(family)
    # every Linux entry has its source; the Windows ones are excluded
    assert "2.0/trixie" in rendered and "2.1-rc/alpine3.21" in rendered
    assert not [k for k in rendered if "/windows/" in k]
    src = rendered["2.0/slim-trixie"]
    assert src == [{
        "name": "tiny", "version": "2.0.1",
        "url": "https://downloads.example.invalid/tiny/2.0.1/tiny-2.0.1.tar.xz",
        "sha256": "3" * 64, "signing_key": "A035C8C19219BA821ECEA86B64E628F8D684696D",
        "purl": "pkg:generic/tiny@2.0.1?download_url=https://downloads.example.invalid/tiny/2.0.1/tiny-2.0.1.tar.xz",
        "url_arg": {"name": "TINY_SOURCE_URL", "default": "https://downloads.example.invalid/tiny"},
    }]
    # a pre-release: python.org's folder is the numeric part (3.15.0 of 3.15.0b3), the key has no signing key
    rc = rendered["2.1-rc/trixie"][0]
    assert rc["url"].endswith("/tiny/2.1.0/tiny-2.1.0b1.tar.xz") and rc["signing_key"] == ""
    assert rc["version"] == "2.1.0b1" and rc["sha256"] == "4" * 64


def test_a_family_without_sources_renders_none(tmp_path):
    assert render_sources(load_family(str(FIXTURES / "tiny"))) == {}


@pytest.mark.parametrize("sources, field, value", [
    ("a string", "sources", "a string"),
    (["x"], "sources[0]", "x"),
    ([{"url": "https://x.invalid/a"}], "sources[0].name", None),
    ([{"name": "a"}], "sources[0].url", None),
    ([{"name": "a", "url": "https://x.invalid/a", "sha512": "x"}], "sources[0].sha512", "x"),
    ([{"name": "a", "url": "https://x.invalid/a", "sha256": 12}], "sources[0].sha256", 12),
    ([{"name": "a", "url": "https://x.invalid/a", "variants": ["trixy"]}], "sources[0].variants", "trixy"),
    ([{"name": "a", "url": "https://x.invalid/a", "exclude_variants": "windows/*"}],
     "sources[0].exclude_variants", "windows/*"),
    ([{"name": "a", "url": "https://x.invalid/a", "url_arg": "ARG"}], "sources[0].url_arg", "ARG"),
    ([{"name": "a", "url": "https://x.invalid/a", "url_arg": {"name": "A-B", "default": "https://x.invalid"}}],
     "sources[0].url_arg.name", "A-B"),
])
def test_bad_sources_name_file_field_value(tmp_path, sources, field, value):
    with pytest.raises(FamilyError) as exc:
        load_family(str(_tiny(tmp_path, sources)))
    assert exc.value.file.endswith("tiny/family.yml")
    assert exc.value.field == field
    assert exc.value.value == value


@pytest.mark.parametrize("change, field, value", [
    # versions-file order: the first entry (1.9/bookworm) is the one named
    ({"sha256": "{{ data.checksums.source.sha256[:10] }}"}, "sources[0].sha256", "1" * 10),
    ({"url": "file:///etc/passwd"}, "sources[0].url", "file:///etc/passwd"),
    ({"url": "https://user:secret@x.invalid/t.tar"}, "sources[0].url", "https://user:secret@x.invalid/t.tar"),
    ({"signing_key": "not a key"}, "sources[0].signing_key", "notakey"),
    ({"purl": "generic/tiny"}, "sources[0].purl", "generic/tiny"),
    ({"name": "{{ variant }}"}, "sources[0].name", "windows/windowsservercore-ltsc2025"),
    ({"sha256": "{{ data.nothing.sha256 }}"}, "sources[0].sha256", None),
    ({"sha256": "{{ ''.__class__.__mro__ }}"}, "sources[0].sha256", None),
    ({"url_arg": {"name": "U", "default": "https://elsewhere.invalid/"}}, "sources[0].url",
     "https://downloads.example.invalid/tiny/1.9.4/tiny-1.9.4.tar.xz"),
])
def test_bad_rendered_values_name_file_field_value(tmp_path, change, field, value):
    sources = [dict(TINY_SOURCES[0], **change)]
    if change.get("name"):
        sources[0].pop("exclude_variants")
    family = load_family(str(_tiny(tmp_path, sources)))
    with pytest.raises(RenderError) as exc:
        render_sources(family)
    assert exc.value.file.endswith("tiny/family.yml") and exc.value.field == field
    if value is not None:
        assert exc.value.value == value


def test_python_declares_cpython_with_its_checksum_key_and_purl():
    family = load_family(str(REPO / "families" / "python"))
    versions = {v.key: v for v in family.versions}
    rendered = render_sources(family)
    v313 = versions["3.13"]
    assert rendered["3.13/slim-trixie"] == [{
        "name": "python", "version": v313.version,
        "url": "https://www.python.org/ftp/python/%s/Python-%s.tar.xz" % (v313.version, v313.version),
        "sha256": v313.data["checksums"]["source"]["sha256"],
        "signing_key": family.template_vars["gpg_keys"]["3.13"],
        "purl": "pkg:generic/python@%s?download_url=https://www.python.org/ftp/python/%s/Python-%s.tar.xz"
                % ((v313.version,) * 3),
        "url_arg": {"name": "PYTHON_SOURCE_URL", "default": "https://www.python.org/ftp/python"},
    }]
    # the URL is the one the Dockerfile fetches: "$PYTHON_SOURCE_URL/${PYTHON_VERSION%%[a-z]*}/Python-..."
    assert "ARG PYTHON_SOURCE_URL=https://www.python.org/ftp/python" in \
        (REPO / "families" / "python" / "Dockerfile-linux.j2").read_text()
    win = rendered["3.13/windows/windowsservercore-ltsc2025"][0]
    assert win["url"].endswith("/python-%s-amd64.exe" % v313.version)
    assert win["sha256"] == v313.data["checksums"]["windows"]["sha256"] and win["signing_key"] == ""
    assert rendered["3.14/slim-trixie"][0]["signing_key"] == ""  # Sigstore only (PEP 761): the SHA-256 alone


def test_the_bundle_carries_each_entrys_sources(tmp_path):
    _tiny(tmp_path, TINY_SOURCES)
    release = batch.prepare(str(tmp_path / "families"), ["tiny"], ["amd64", "windows-amd64"],
                            parents_dir=str(FIXTURES / "parents"),
                            overrides={"tiny": {"build_args": {"TINY_SOURCE_URL": "http://mirror.invalid/t"}}})
    res = batch.write(release, str(tmp_path / "work"), str(tmp_path / "artifacts"))
    bundle = open_bundle(res.bundle, str(tmp_path / "builder"))
    fam, entry = bundle.release.entry("tiny:2.0.1-slim-trixie")
    assert entry.directory == "2.0/slim-trixie"
    assert fam.sources["2.0/slim-trixie"][0]["sha256"] == "3" * 64
    assert fam.templates["2.0/slim-trixie"] == "linux.j2"
    assert fam.family_folder == "families/tiny"
    assert fam.build_args == {"TINY_SOURCE_URL": "http://mirror.invalid/t"}
    assert not [d for d in fam.sources if d.startswith("2.0/windows")]
    assert bundle.release.entry("tiny:no-such-tag") is None
    # deterministic: the same release makes the same bundle bytes
    again = batch.bundle_bytes(batch.prepare(str(tmp_path / "families"), ["tiny"], ["amd64", "windows-amd64"],
                                             parents_dir=str(FIXTURES / "parents"),
                                             overrides={"tiny": {"build_args": {
                                                 "TINY_SOURCE_URL": "http://mirror.invalid/t"}}}))
    assert again == pathlib.Path(res.bundle).read_bytes()
    assert json.loads(json.dumps(fam.sources)) == fam.sources
