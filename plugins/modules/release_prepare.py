#!/usr/bin/python
# Copyright: buildfarm.images contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: release_prepare
short_description: Plan and render a whole release in one call - every family, in dependency order
version_added: 0.2.0
description:
  - Loads every family of the release from I(families_dir), renders each once, and plans them together. A family
    whose FROM names an image of another family of the release takes its architectures from that family's plan, with
    no parents' library file needed for it, and comes after it, so builders build it FROM the image they just built.
  - Each family is its own folder (family.yml with its C(build) recipe, versions, templates, smoke tests, docs).
    Nothing outside the folder names it, and the folder's name is the repository, so a family folder copied under
    a new name is a new image with no other file changed.
  - Writes the library files (C(<artifacts_dir>/library/<family>)), the rendered trees
    (C(<work_dir>/render/<family>)) and the release bundle C(<work_dir>/release.tar) (release.json and every
    rendered tree, deterministic) that M(buildfarm.images.image_build) and M(buildfarm.images.image_test) take on
    each builder. Each file is replaced whole and only when it changed.
  - Commits and created times (labels C(org.opencontainers.image.revision) and C(.created)) come from git, per
    family folder; I(source_date_epoch) overrides the created time.
  - Bad input (a family, a versions file, a template, a tests file, an unknown family, a FROM cycle between families)
    fails before anything is written, naming the file, the field and the value.
  - Relative paths resolve against the directory C(ansible-playbook) runs in (the action plugin makes them absolute),
    never against the playbook's or the collection's folder.
author: buildfarm.images contributors (@buildfarm)
attributes:
  check_mode:
    support: full
    description: Writes the scratch files (rendered trees, bundle) a dry run of the builders needs, not the library
      files; reports what would change.
  diff_mode:
    support: full
    description: The library files' changes.
  action:
    support: full
    description: The action plugin resolves relative paths on the controller.
options:
  families_dir:
    description: The folder of the release's families (C(buildfarm_families_dir)).
    type: path
    required: true
  families:
    description: The families to release, by folder name (C(buildfarm_families)). Default every folder of
      I(families_dir) with a C(family.yml).
    type: list
    elements: str
  architectures:
    description: The architectures the farm has builders for; entries left with none are dropped (and returned).
      Default every architecture the families name.
    type: list
    elements: str
  parents_library:
    description: Folder of the official-images library files of parent images outside the release (C(debian),
      C(alpine) ...). Not needed for families that are C(FROM scratch) or FROM another family of the release.
    type: path
  work_dir:
    description: Controller scratch folder of the release (rendered trees and the bundle).
    type: path
    required: true
  artifacts_dir:
    description: Folder of the release's artifacts; the library files go to its C(library/).
    type: path
    required: true
  source_date_epoch:
    description: Seconds since the epoch; when given, the C(created) label of every image (as C(SOURCE_DATE_EPOCH)).
    type: str
  overrides:
    description:
      - Per-family changes for this release, without editing the family (family name -> mapping); names of
        families not in the release are ignored. Each may have C(versions_file) (another versions file, for
        example one an inventory pins; relative paths resolve against the directory C(ansible-playbook) runs in),
        C(architectures) (the family is restricted to these, as its C(family.yml) C(architectures) would, a list
        for every variant, or a mapping of variant glob to a list, the first matching glob applying; a glob that
        matches no variant is an error) and
        C(variants) (only these variants are rendered, planned and built; their tags stay those of the whole
        versions file, so C(3.13-slim) is still the slim entry of the default suite) and C(build_args) (the
        family's build arguments on the builders, over theirs, for example where python fetches its source).
      - Bad overrides fail before anything is written, naming C(overrides.<family>), the field and the value.
    type: dict
    default: {}
  library_files:
    description:
      - Library files (the official-images format, as bashbrew builds them) whose entries are built from Git
        (C(buildfarm_library_files)); each is a path, or a mapping with C(file) and C(tests) (a smoke tests file
        in the families' format; without one each image gets a generic run test). Relative paths resolve against
        the directory C(ansible-playbook) runs in; a relative local C(GitRepo) against the library file's folder.
      - The repository is the file's name. Every architecture's source (C(GitRepo), C(GitFetch), C(GitCommit),
        C(Directory), C(File) and their C(<arch>-) overrides) is fetched into the controller's git cache
        (C(<work_dir>/git)) and checked, and C(Builder) must be C(buildkit), C(classic) or C(oci-import), before
        anything is written; an error names the file, the line, the field and the value.
      - The entries' FROM lines (read from Git) order the release after the families and library files they are
        built FROM; the builders fetch the sources themselves, cached per repository.
    type: list
    elements: raw
    default: []
  library_base_dir:
    description:
      - The folder relative paths of I(library_files) are relative to (a project's folder); itself relative to the
        directory C(ansible-playbook) runs in. Default that directory. Resolved by the action plugin.
    type: path
  debian_mirror:
    description: The Debian archive whose C(Release) files resolve the C(debian_release) versions source of a
      family. Default the archive of the controller's apt sources (read at run time).
    type: str
    default: ""
"""

EXAMPLES = r"""
- name: Plan and render the release
  buildfarm.images.release_prepare:
    families_dir: families
    families: [busybox]
    architectures: [amd64, arm64v8, s390x]
    work_dir: .buildfarm
    artifacts_dir: artifacts
  register: buildfarm_release

- name: Release debian and python, python pinned to this farm's versions file, amd64 and slim-trixie only
  buildfarm.images.release_prepare:
    families_dir: families
    families: [debian, python]
    architectures: [amd64, arm64v8, s390x]
    work_dir: .buildfarm
    artifacts_dir: artifacts
    overrides:
      python:
        versions_file: inventories/local-files/python-versions.json
        architectures: [amd64]
        variants: [slim-trixie]
        build_args:
          PYTHON_SOURCE_URL: http://172.17.0.1:8791/ftp/python
          GPG_KEYSERVER: http://172.17.0.1:8791/pks/keys.asc
  register: buildfarm_release
"""

RETURN = r"""
families:
  description: The release's families in dependency order (a family after the families it is built FROM), then
    the repositories of I(library_files) (each after those it is built FROM).
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Family and repository name (the folder's name; a library file's name).
      type: str
    kind:
      description: C(family) (rendered from a family folder) or C(library) (built from Git, from a library file).
      type: str
    repository:
      description: The repository of its lists, C(library/<name>).
      type: str
    entries:
      description: The plan's entries (C(tags), C(shared_tags), C(architectures), C(directory), C(file),
        C(git_commit), C(constraints), C(builder), C(from), C(version), C(variant); for a library file's entries
        also C(git_repo), C(git_fetch) and C(arch_overrides)).
      type: list
      elements: dict
    dropped:
      description: Entries left out because no builder has any of their architectures.
      type: list
      elements: dict
    depends_on:
      description: The families of the release it is built FROM.
      type: list
      elements: str
    scratch:
      description: Whether every entry is C(FROM scratch) (known from the render).
      type: bool
    render_dir:
      description: The family's rendered tree on the controller.
      type: str
    tests:
      description: The family's smoke tests (the tests file's data), null without one.
      type: dict
    source:
      description: The C(org.opencontainers.image.source) label (family.yml C(git_repo)).
      type: str
    revision:
      description: The last commit of the family's folder (C(org.opencontainers.image.revision)).
      type: str
    created:
      description: Its commit time, or I(source_date_epoch) (C(org.opencontainers.image.created)).
      type: str
    sources:
      description: What the family declares its entries are built from (family.yml C(sources), rendered per entry
        directory -> C(name), C(version), C(url), C(sha256), C(signing_key), C(purl) ...); empty for a library
        file's repository. The report names them per image.
      type: dict
bundle:
  description: The release bundle to copy to every builder.
  returned: always
  type: str
publish:
  description: What M(buildfarm.images.manifest_list) publishes, one item per family (C(repository), C(entries)).
  returned: always
  type: list
  elements: dict
docs:
  description: What M(buildfarm.images.readme) writes, one item per family (C(name), C(entries), C(family_dir),
    C(dest_dir)).
  returned: always
  type: list
  elements: dict
library_files:
  description: Family name -> its library file.
  returned: always
  type: dict
work_dir:
  description: The work folder, absolute.
  returned: always
  type: str
artifacts_dir:
  description: The artifacts folder, absolute.
  returned: always
  type: str
"""

import os

from ansible_collections.buildfarm.images.plugins.module_utils.common.module import BuildfarmModule
from ansible_collections.buildfarm.images.plugins.module_utils.family._family_module import FAMILY_REQUIRES
from ansible_collections.buildfarm.images.plugins.module_utils.release import batch

ARGUMENT_SPEC = dict(
    families_dir=dict(type="path", required=True),
    families=dict(type="list", elements="str"),
    architectures=dict(type="list", elements="str"),
    parents_library=dict(type="path"),
    work_dir=dict(type="path", required=True),
    artifacts_dir=dict(type="path", required=True),
    source_date_epoch=dict(type="str"),
    overrides=dict(type="dict", default={}),
    debian_mirror=dict(type="str", default=""),
    library_files=dict(type="list", elements="raw", default=[]),
    library_base_dir=dict(type="path"),
)


def work(module: BuildfarmModule) -> dict:
    p = module.params
    if p["source_date_epoch"] and not p["source_date_epoch"].isdigit():
        raise batch.ReleaseError("release", "source_date_epoch", p["source_date_epoch"], "not a number of seconds")
    release = batch.prepare(p["families_dir"], p["families"], p["architectures"], p["parents_library"],
                            p["source_date_epoch"], debian_mirror=p["debian_mirror"], overrides=p["overrides"],
                            library_files=p["library_files"],
                            git_cache_dir=os.path.join(os.path.abspath(p["work_dir"]), "git"))
    written = batch.write(release, p["work_dir"], p["artifacts_dir"], check=module.check_mode, want_diff=module._diff)
    return dict(
        changed=written.changed,
        families=batch.result_families(written.data, p["work_dir"]),
        bundle=written.bundle,
        publish=batch.publish_view(written.data),
        docs=batch.docs_view(release, written.data, p["artifacts_dir"]),
        library_files=written.library_files,
        work_dir=os.path.abspath(p["work_dir"]),
        artifacts_dir=os.path.abspath(p["artifacts_dir"]),
        warnings=release.warnings,
        diff=written.diff,
    )


def main() -> None:
    BuildfarmModule(argument_spec=ARGUMENT_SPEC, requires=FAMILY_REQUIRES).run(work)


if __name__ == "__main__":
    main()
