# Copyright: buildfarm.images contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The README batch of the readme module: which READMEs of which repositories, rendered, checked and written.

Plain typed Python, importable without Ansible. Every README of every repository is rendered, and every target
checked, before the first one is written, so bad input or a bad target fails the batch with nothing written.

    result = run_batch(params, check_mode=False)   # the readme module's options -> its result
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Mapping, Sequence, Union

from ansible_collections.buildfarm.images.plugins.module_utils.common import architectures as arches
from ansible_collections.buildfarm.images.plugins.module_utils.common._text_file import (
    check_target,
    parse_mode,
    write_text,
)
from ansible_collections.buildfarm.images.plugins.module_utils.docs.readme import (
    DocsError,
    load_content,
    readme_filename,
    render_readme,
)
from ansible_collections.buildfarm.images.plugins.module_utils.library.library_manifest import (
    InvalidLibraryManifest,
    LibraryManifest,
    load,
    manifest_from_dicts,
)
from ansible_collections.buildfarm.images.plugins.module_utils.release.model import FamilyReadmes, ReadmeResult


@dataclass
class Repository:
    """One repository of the batch: where its READMEs go and what they say."""

    name: str
    manifest: LibraryManifest
    family_dir: Union[str, None]
    dest: Union[str, None]
    dest_dir: Union[str, None]
    where: str = ""  # "families[n]." in the batch form, for the errors naming an option

    def path(self, arch: Union[str, None]) -> str:
        return self.dest or os.path.join(self.dest_dir or "", readme_filename(arch))

    @property
    def dest_field(self) -> str:
        return self.where + ("dest" if self.dest else "dest_dir")


def wanted_readmes(p: Mapping[str, Any]) -> list[Union[str, None]]:
    """The READMEs asked for (None: the generic one), the options checked against each other."""
    if p["families"] is None and not (p["dest"] or p["dest_dir"]):
        raise DocsError("one of the following is required: dest, dest_dir (or families)")
    wanted: list[Union[str, None]] = ([None] if p["generic"] else []) + list(dict.fromkeys(p["architectures"]))
    if not wanted:
        raise DocsError("nothing to write: generic is false and architectures is empty")
    for arch in wanted:
        if arch is not None and not arches.is_known(arch):
            raise DocsError("architectures: unknown architecture %r (known: %s)"
                            % (arch, ", ".join(arches.ARCHITECTURES)))
    if p["dest"] and len(wanted) != 1:
        raise DocsError("dest is one file but %d READMEs are requested; use dest_dir" % len(wanted))
    return wanted


def repositories(p: Mapping[str, Any]) -> list[Repository]:
    """The repositories to document; a bad one raises with its place in the arguments named."""
    if p["families"] is None:
        if p["library_file"]:
            manifest = load(p["library_file"]).validate()
        else:
            manifest = manifest_from_dicts(p["entries"])
        name = p["name"] or os.path.basename(p["library_file"])
        return [Repository(name, manifest, p["family_dir"], p["dest"], p["dest_dir"])]
    out: list[Repository] = []
    seen: dict[str, int] = {}
    for n, family in enumerate(p["families"]):
        where = "families[%d] (%s)" % (n, family["name"])
        dest_dir = os.path.normpath(family["dest_dir"])
        if dest_dir in seen:
            raise DocsError("%s: dest_dir %s is also families[%d]'s" % (where, family["dest_dir"], seen[dest_dir]))
        seen[dest_dir] = n
        try:
            manifest = manifest_from_dicts(family["entries"])
        except InvalidLibraryManifest as exc:
            raise DocsError("%s: %s" % (where, exc)) from exc
        out.append(Repository(family["name"], manifest, family["family_dir"], None, family["dest_dir"],
                              "families[%d]." % n))
    return out


Rendered = Sequence[tuple[Repository, Sequence[tuple[Union[str, None], str]]]]


def render_batch(p: Mapping[str, Any], wanted: Sequence[Union[str, None]]) -> Rendered:
    """Every README of every repository, each target checked (nothing is written yet)."""
    rendered = []
    fmt = p["format"]
    try:
        for repo in repositories(p):
            content = load_content(repo.family_dir)
            rendered.append((repo, [(arch, render_readme(repo.manifest, repo.name, arch, content, fmt))
                                    for arch in wanted]))
            for arch in wanted:
                check_target(repo.path(arch), repo.dest_field)
    except OSError as exc:
        raise DocsError("cannot read %s: %s" % (exc.filename, exc.strerror), file=str(exc.filename)) from exc
    return rendered


def _write(repo: Repository, arch: Union[str, None], text: str, mode: Union[int, None],
           check_mode: bool) -> tuple[ReadmeResult, Union[dict, None]]:
    path = repo.path(arch)
    try:
        # a TextFileError (the target changed since it was checked) names file, field and value itself
        written = write_text(path, text, mode, check_mode=check_mode, field=repo.dest_field)
    except OSError as exc:
        raise DocsError("%s: field %s: cannot be written: %s" % (path, repo.dest_field, exc.strerror),
                        file=path, field=repo.dest_field, value=path) from exc
    return ReadmeResult(repo.name, arch, path, written.changed), written.diff() or None


def run_batch(p: Mapping[str, Any], check_mode: bool = False) -> dict[str, Any]:
    """The readme module's job: its options (`p`) -> its result (readmes, changed_files, diff, families)."""
    wanted = wanted_readmes(p)
    # YAML reads an unquoted 0644 as the int 420 (taken as is); setuid/setgid/sticky bits are refused
    mode = parse_mode(p["mode"], p["dest"] or p["dest_dir"] or "families", "mode")
    rendered = render_batch(p, wanted)
    families, diffs = [], []
    for repo, texts in rendered:
        family = FamilyReadmes(repo.name)
        for arch, text in texts:
            readme, diff = _write(repo, arch, text, mode, check_mode)
            family.add(readme)
            if diff is not None:
                diffs.append(diff)
        families.append(family)
    changed_files = [path for f in families for path in f.changed_files]
    result = dict(changed=bool(changed_files), readmes=[r.to_dict() for f in families for r in f.readmes],
                  changed_files=changed_files, diff=diffs)
    if p["families"] is not None:
        result["families"] = [f.to_dict() for f in families]
    return result
