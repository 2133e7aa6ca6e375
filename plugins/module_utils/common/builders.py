# Copyright: buildfarm.images contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The builders an entry can name and the one normalization of them, as upstream's pipeline does it
(docker-library/meta-scripts `normalized_builder`): the entry's `Builder:` (a library file's, with its
`<arch>-Builder:` override), else its family's `builder:` (family.yml), else `buildkit` on Linux and `classic` on
Windows (BuildKit does not build Windows containers).

Every reader of a builder value (family.yml, library files, the release bundle's entries) checks it here, so an
unknown builder stops the release naming the file, the field and the value before anything is built. Plain typed
Python, importable without Ansible.
"""
from __future__ import annotations

from ansible_collections.buildfarm.images.plugins.module_utils.common import architectures
from ansible_collections.buildfarm.images.plugins.module_utils.common.errors import BuildfarmError

BUILDKIT = "buildkit"
CLASSIC = "classic"
OCI_IMPORT = "oci-import"
# Builders bashbrew knows, the one list every reader checks against
BUILDERS = (BUILDKIT, CLASSIC, OCI_IMPORT)


class UnknownBuilder(BuildfarmError, ValueError):
    """A builder value that is none of BUILDERS: names the file, the field and the value."""


def check_builder(value: object, file: str | None = None, field: str = "builder") -> str:
    """``value`` when it is empty (none given) or one of BUILDERS; else UnknownBuilder naming file, field, value."""
    if value in (None, ""):
        return ""
    if not isinstance(value, str) or value not in BUILDERS:
        raise UnknownBuilder("unknown builder (known: %s)" % ", ".join(BUILDERS), file, field, value)
    return value


def normalized_builder(arch: str, entry_builder: str = "", family_builder: str = "") -> str:
    """The builder an entry is built with on ``arch`` (a bashbrew architecture name)."""
    named = check_builder(entry_builder, field="Builder")
    family = check_builder(family_builder)
    if named:
        return named  # an entry's own Builder is taken as named, as upstream does
    if architectures.get(arch).is_windows:
        # BuildKit builds no Windows containers: a family's `builder:` speaks for its Linux entries (python's
        # family.yml says buildkit and has Windows variants; upstream writes Builder on the Linux entries only)
        return CLASSIC
    return family or BUILDKIT
