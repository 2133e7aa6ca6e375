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
  - One call writes a whole batch, the generic README and/or one README per architecture. Everything is
    rendered (and the input validated) before the first file is written; each file is replaced atomically and
    only when its content or mode changes.
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
      - The library file to document. Mutually exclusive with I(entries).
    type: path
  entries:
    description:
      - The entries as data instead of a file, in the shape C(buildfarm.images.library_manifest) returns
        (C(tags), C(shared_tags), C(architectures), C(git_repo), C(git_commit), C(directory), C(file),
        C(arch_overrides) ...). Needs I(name).
    type: list
    elements: dict
  name:
    description:
      - The repository name, for example C(python). Defaults to the base name of I(library_file).
    type: str
  family_dir:
    description:
      - The family folder whose C(docs/) sub-folder holds the README content (C(meta.yml), C(content.md),
        C(variant*.md), C(license.md), C(quick-reference.md)). Without it, or without that sub-folder, the
        README gets default content.
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
    type: path
  dest_dir:
    description:
      - The folder to write the READMEs to, as C(README.md) (generic) and C(README.<arch>.md). Created if missing.
    type: path
  mode:
    description:
      - Permissions of the written files, as an octal string such as C("0644") (an integer is taken as the mode
        itself, which is what YAML makes of an unquoted C(0644)).
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
    - arch: null
      path: artifacts/docs/python/README.md
      changed: true
    - arch: amd64
      path: artifacts/docs/python/README.amd64.md
      changed: false
changed_files:
  description: The paths of the READMEs written (or that would be, in check mode).
  returned: always
  type: list
  elements: str
  sample: ["artifacts/docs/python/README.md"]
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.buildfarm.images.plugins.module_utils.common import architectures as arches
from ansible_collections.buildfarm.images.plugins.module_utils.common._text_file import write_text
from ansible_collections.buildfarm.images.plugins.module_utils.docs.docs import (
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


def _manifest(params: dict) -> LibraryManifest:
    if params["library_file"]:
        return load(params["library_file"]).validate()
    manifest = LibraryManifest.build(filename="entries")
    for n, data in enumerate(params["entries"]):
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


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(
            library_file={"type": "path"},
            entries={"type": "list", "elements": "dict"},
            name={"type": "str"},
            family_dir={"type": "path"},
            generic={"type": "bool", "default": True},
            architectures={"type": "list", "elements": "str", "default": []},
            dest={"type": "path"},
            dest_dir={"type": "path"},
            mode={"type": "raw", "default": "0644"},
        ),
        mutually_exclusive=[("library_file", "entries"), ("dest", "dest_dir")],
        required_one_of=[("library_file", "entries"), ("dest", "dest_dir")],
        required_by={"entries": "name"},
        supports_check_mode=True,
    )
    p = module.params
    name = p["name"] or os.path.basename(p["library_file"])
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
        # YAML reads an unquoted 0644 as the int 420: only strings are octal text
        mode = p["mode"] if isinstance(p["mode"], int) else int(str(p["mode"]), 8)
    except ValueError:
        module.fail_json(msg="mode: %r is not an octal file mode" % p["mode"])

    try:
        manifest = _manifest(p)
        content = load_content(p["family_dir"])
        texts = [(arch, render_readme(manifest, name, arch, content)) for arch in wanted]
    except (LibraryManifestError, InvalidLibraryManifest, DocsError) as exc:
        module.fail_json(msg=str(exc))
    except OSError as exc:
        module.fail_json(msg="cannot read %s: %s" % (exc.filename, exc.strerror))

    readmes, changed_files, diffs = [], [], []
    for arch, text in texts:
        path = p["dest"] or os.path.join(p["dest_dir"], readme_filename(arch))
        written = write_text(path, text, mode, check_mode=module.check_mode)
        if written.changed:
            changed_files.append(path)
        if written.content_changed:
            diffs.append(written.diff())
        readmes.append({"arch": arch, "path": path, "changed": written.changed})
    module.exit_json(changed=bool(changed_files), readmes=readmes, changed_files=changed_files, diff=diffs)


if __name__ == "__main__":
    main()
