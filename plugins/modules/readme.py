#!/usr/bin/python
# Copyright: buildfarm.images contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: readme
short_description: Write the generic and per-architecture READMEs of an image repository
version_added: 0.1.0
description:
  - Renders the README of a repository in the docker-library/docs format from its library file (or from its
    entries given as data), with the generated-file warning, the per-architecture note, the quick reference, the
    supported Simple and Shared tags with links to their Dockerfiles, the supported architectures, then the
    family's own content from C(<family_dir>/docs/).
  - One call writes a whole batch, the generic README and/or one README per architecture, of one repository or,
    with I(families), of several. Everything is rendered (and the input validated) before the first file is
    written; each file is replaced atomically and only when its content or mode changes.
  - Two README formats, as the docker-library/docs templates wrote them. C(2024), the template since 2024-07-05
    and what Docker Hub shows today, follows every simple-tag entry and every shared-tag group with a blank line;
    C(2019), the template of 2019-09-13 .. 2024-07-05, writes them one line after the other.
author: buildfarm.images contributors (@buildfarm)
attributes:
  check_mode:
    support: full
    description: Reports which files would change, writes nothing.
  diff_mode:
    support: full
    description: Shows the changes of each README.
options:
  library_file:
    description:
      - The library file to document. Mutually exclusive with I(entries) and I(families).
    type: path
  entries:
    description:
      - The entries as data instead of a file, in the shape C(buildfarm.images.library_manifest) returns
        (C(tags), C(shared_tags), C(architectures), C(git_repo), C(git_commit), C(directory), C(file),
        C(arch_overrides) ...). Needs I(name). Mutually exclusive with I(families).
    type: list
    elements: dict
  families:
    description:
      - Several repositories in one call (a release's families), each written to its own I(dest_dir) as
        C(README.md) and C(README.<arch>.md); I(generic), I(architectures), I(format) and I(mode) apply to every
        one. Mutually exclusive with I(library_file), I(entries), I(name), I(family_dir), I(dest) and I(dest_dir).
    type: list
    elements: dict
    suboptions:
      name:
        description:
          - The repository name, for example C(python).
        type: str
        required: true
      entries:
        description:
          - Its entries as data, in the shape I(entries) takes (a release plan's entries).
        type: list
        elements: dict
        required: true
      family_dir:
        description:
          - The family folder whose C(docs/) sub-folder holds its README content (see I(family_dir) above).
        type: path
      dest_dir:
        description:
          - The folder its READMEs are written to. Created if missing.
        type: path
        required: true
  format:
    description:
      - The README format; C(2024) is the docs template of today, C(2019) the one of 2019-09-13 .. 2024-07-05.
    type: str
    choices: ["2024", "2019"]
    default: "2024"
  name:
    description:
      - The repository name, for example C(python). Defaults to the base name of I(library_file).
    type: str
  family_dir:
    description:
      - The family folder whose C(docs/) sub-folder holds the README content (C(meta.yml), C(content.md),
        C(variant*.md), C(license.md), C(quick-reference.md)). Without it, or without that sub-folder, the
        README gets default content.
      - C(docs/) and every file read from it must resolve, symlinks followed, inside the family folder; a symlink
        out of it fails naming it (a family is data anyone may propose).
    type: path
  generic:
    description:
      - Write the generic README (every entry, links to each entry's amd64 build or else its first
        architecture).
    type: bool
    default: true
  architectures:
    description:
      - Write one per-architecture README for each of these bashbrew architectures (only the entries with that
        architecture; an architecture without entries gets the "not supported" warning).
    type: list
    elements: str
    default: []
  dest:
    description:
      - The file to write when exactly one README is requested. Mutually exclusive with I(dest_dir).
      - A I(dest) (or I(dest_dir)) below a regular file, or a README path that is a folder, fails naming it before
        any README is written.
      - One of I(dest) and I(dest_dir) is required unless I(families) is given.
    type: path
  dest_dir:
    description:
      - The folder to write the READMEs to, as C(README.md) (generic) and C(README.<arch>.md). Created if missing.
    type: path
  mode:
    description:
      - Permissions of the written files, as an octal string such as C("0644") (an integer is taken as the mode
        itself, which is what YAML makes of an unquoted C(0644)).
      - At most C("0777"); setuid, setgid and sticky bits fail naming the value before anything is written.
    type: raw
    default: "0644"
"""

EXAMPLES = r"""
- name: Generic and per-architecture READMEs of the python repository
  buildfarm.images.readme:
    library_file: "{{ buildfarm_library_out }}"
    family_dir: families/python
    architectures: [amd64, arm64v8, s390x, windows-amd64]
    dest_dir: artifacts/docs/python

- name: The amd64 README only, into one file
  buildfarm.images.readme:
    library_file: library/python
    generic: false
    architectures: [amd64]
    dest: artifacts/docs/amd64-python-README.md

- name: The README format of 2019-09-13 .. 2024-07-05
  buildfarm.images.readme:
    library_file: library/python
    format: "2019"
    dest: artifacts/docs/python-README.md

- name: Every family of a release in one call
  buildfarm.images.readme:
    families:
      - name: busybox
        entries: "{{ busybox_plan.entries }}"
        family_dir: families/busybox
        dest_dir: artifacts/docs/busybox
      - name: python
        entries: "{{ python_plan.entries }}"
        family_dir: families/python
        dest_dir: artifacts/docs/python
    architectures: [amd64, arm64v8]

- name: From entries as data (for example a release plan)
  buildfarm.images.readme:
    name: busybox
    entries:
      - tags: ["1.35.0-glibc", "1.35-glibc"]
        shared_tags: ["1.35.0", "1.35", "latest"]
        architectures: [amd64, arm64v8]
        git_repo: https://example.com/buildfarm/images.git
        git_commit: 0123456789abcdef0123456789abcdef01234567
        directory: 1.35/glibc
    family_dir: families/busybox
    dest: artifacts/docs/busybox-README.md
"""

RETURN = r"""
readmes:
  description: Every README of the batch.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The repository the README is of.
      type: str
    arch:
      description: The architecture, or null for the generic README.
      type: str
    path:
      description: Where it is written.
      type: str
    changed:
      description: Whether the file was (or in check mode would be) written.
      type: bool
  sample:
    - name: python
      arch: null
      path: artifacts/docs/python/README.md
      changed: true
    - name: python
      arch: amd64
      path: artifacts/docs/python/README.amd64.md
      changed: false
families:
  description: With I(families), one result per family, in order.
  returned: when families is given
  type: list
  elements: dict
  contains:
    name:
      description: The repository name.
      type: str
    changed:
      description: Whether any of its READMEs was (or would be) written.
      type: bool
    changed_files:
      description: Its READMEs written (or that would be).
      type: list
      elements: str
    readmes:
      description: Its READMEs, as in I(readmes).
      type: list
      elements: dict
  sample:
    - name: busybox
      changed: false
      changed_files: []
      readmes:
        - {name: busybox, arch: null, path: artifacts/docs/busybox/README.md, changed: false}
changed_files:
  description: The paths of the READMEs written (or that would be, in check mode).
  returned: always
  type: list
  elements: str
  sample: ["artifacts/docs/python/README.md"]
"""

import os
from typing import NoReturn

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.buildfarm.images.plugins.module_utils.common import architectures as arches
from ansible_collections.buildfarm.images.plugins.module_utils.common._text_file import (
    TextFileError,
    check_target,
    parse_mode,
    write_text,
)
from ansible_collections.buildfarm.images.plugins.module_utils.docs.docs import (
    DEFAULT_FORMAT,
    FORMATS,
    DocsError,
    load_content,
    readme_filename,
    render_readme,
)
from ansible_collections.buildfarm.images.plugins.module_utils.library.library_manifest import (
    Entry,
    InvalidLibraryManifest,
    LibraryManifest,
    LibraryManifestError,
    load,
)


def _manifest_of_entries(entries: list) -> LibraryManifest:
    manifest = LibraryManifest.build(filename="entries")
    for n, data in enumerate(entries):
        entry = manifest.add_entry(Entry.from_dict(data, defaults=manifest.globals))
        entry.line = n + 1  # carries the entry's position to the errors below
        for f in entry.fields:
            f.line = n + 1
    # entries given as data have no Maintainers paragraph to check; errors name the entry by its index
    errors = [
        LibraryManifestError("entries[%d]" % (e.line - 1), 0, e.field, e.value, e.message)
        for e in manifest.errors()
        if e.field != "Maintainers"
    ]
    if errors:
        raise InvalidLibraryManifest(errors)
    return manifest


class _Repository:
    """One repository of the batch: where its READMEs go and what they say."""

    def __init__(self, name: str, manifest: LibraryManifest, family_dir, dest, dest_dir, where: str = "") -> None:
        self.name, self.manifest, self.family_dir = name, manifest, family_dir
        self.dest, self.dest_dir = dest, dest_dir
        self.where = where  # "families[n]." in the batch form, for the errors naming an option

    def path(self, arch) -> str:
        return self.dest or os.path.join(self.dest_dir, readme_filename(arch))

    @property
    def dest_field(self) -> str:
        return self.where + ("dest" if self.dest else "dest_dir")


def _repositories(p: dict) -> list:
    """The repositories to document; a bad one raises with its place in the arguments named."""
    if p["families"] is None:
        if p["library_file"]:
            manifest = load(p["library_file"]).validate()
        else:
            manifest = _manifest_of_entries(p["entries"])
        name = p["name"] or os.path.basename(p["library_file"])
        return [_Repository(name, manifest, p["family_dir"], p["dest"], p["dest_dir"])]
    repositories, seen = [], {}
    for n, family in enumerate(p["families"]):
        where = "families[%d] (%s)" % (n, family["name"])
        dest_dir = os.path.normpath(family["dest_dir"])
        if dest_dir in seen:
            raise DocsError("%s: dest_dir %s is also families[%d]'s" % (where, family["dest_dir"], seen[dest_dir]))
        seen[dest_dir] = n
        try:
            manifest = _manifest_of_entries(family["entries"])
        except InvalidLibraryManifest as exc:
            raise DocsError("%s: %s" % (where, exc)) from exc
        repositories.append(_Repository(family["name"], manifest, family["family_dir"], None, family["dest_dir"],
                                        "families[%d]." % n))
    return repositories


def _fail(module: AnsibleModule, exc: Exception) -> NoReturn:
    """Fail the task with the file, field and value the error names (no traceback)."""
    module.fail_json(msg=str(exc), file=getattr(exc, "file", "") or None, field=getattr(exc, "field", "") or None,
                     value=str(getattr(exc, "value", "")))


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(
            library_file={"type": "path"},
            entries={"type": "list", "elements": "dict"},
            families={"type": "list", "elements": "dict", "options": dict(
                name={"type": "str", "required": True},
                entries={"type": "list", "elements": "dict", "required": True},
                family_dir={"type": "path"},
                dest_dir={"type": "path", "required": True},
            )},
            format={"type": "str", "choices": list(FORMATS), "default": DEFAULT_FORMAT},
            name={"type": "str"},
            family_dir={"type": "path"},
            generic={"type": "bool", "default": True},
            architectures={"type": "list", "elements": "str", "default": []},
            dest={"type": "path"},
            dest_dir={"type": "path"},
            mode={"type": "raw", "default": "0644"},
        ),
        mutually_exclusive=[("library_file", "entries", "families"), ("dest", "dest_dir"),
                            ("families", "name"), ("families", "family_dir"), ("families", "dest"),
                            ("families", "dest_dir")],
        required_one_of=[("library_file", "entries", "families")],
        required_by={"entries": "name"},
        supports_check_mode=True,
    )
    p = module.params
    if p["families"] is None and not (p["dest"] or p["dest_dir"]):
        module.fail_json(msg="one of the following is required: dest, dest_dir (or families)")
    wanted = ([None] if p["generic"] else []) + list(dict.fromkeys(p["architectures"]))
    if not wanted:
        module.fail_json(msg="nothing to write: generic is false and architectures is empty")
    for arch in wanted:
        if arch is not None and not arches.is_known(arch):
            module.fail_json(msg="architectures: unknown architecture %r (known: %s)"
                             % (arch, ", ".join(arches.ARCHITECTURES)))
    if p["dest"] and len(wanted) != 1:
        module.fail_json(msg="dest is one file but %d READMEs are requested; use dest_dir" % len(wanted))
    try:
        # YAML reads an unquoted 0644 as the int 420 (taken as is); setuid/setgid/sticky bits are refused
        mode = parse_mode(p["mode"], p["dest"] or p["dest_dir"] or "families", "mode")
    except TextFileError as exc:
        _fail(module, exc)

    try:
        # every README of every repository is rendered, and every target checked, before the first one is written
        rendered = []
        for repo in _repositories(p):
            content = load_content(repo.family_dir)
            rendered.append((repo, [(arch, render_readme(repo.manifest, repo.name, arch, content, p["format"]))
                                    for arch in wanted]))
            for arch in wanted:
                check_target(repo.path(arch), repo.dest_field)
    except (LibraryManifestError, InvalidLibraryManifest) as exc:
        module.fail_json(msg=str(exc))
    except (DocsError, TextFileError) as exc:
        _fail(module, exc)
    except OSError as exc:
        module.fail_json(msg="cannot read %s: %s" % (exc.filename, exc.strerror), file=exc.filename)

    readmes, changed_files, diffs, families = [], [], [], []
    for repo, texts in rendered:
        family = {"name": repo.name, "changed": False, "changed_files": [], "readmes": []}
        for arch, text in texts:
            path = repo.path(arch)
            try:
                written = write_text(path, text, mode, check_mode=module.check_mode, field=repo.dest_field)
            except TextFileError as exc:  # the target changed since it was checked
                _fail(module, exc)
            except OSError as exc:
                module.fail_json(msg="%s: field %s: cannot be written: %s" % (path, repo.dest_field, exc.strerror),
                                 file=path, field=repo.dest_field, value=path)
            if written.changed:
                family["changed_files"].append(path)
            if written.content_changed:
                diffs.append(written.diff())
            family["readmes"].append({"name": repo.name, "arch": arch, "path": path, "changed": written.changed})
        family["changed"] = bool(family["changed_files"])
        readmes.extend(family["readmes"])
        changed_files.extend(family["changed_files"])
        families.append(family)
    result = dict(changed=bool(changed_files), readmes=readmes, changed_files=changed_files, diff=diffs)
    if p["families"] is not None:
        result["families"] = families
    module.exit_json(**result)


if __name__ == "__main__":
    main()
