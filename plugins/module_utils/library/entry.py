# Copyright: buildfarm.images contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The library entry: the one model of an image's tags and sources (`Entry`), its shared-tag group
(`SharedTagGroup`, `group_shared_tags`) and an entry the release leaves out (`DroppedEntry`).

They are records of the release schema, defined in release/model/_entry.py (see there) and imported from here by
the library code; the library file's text layer (library_manifest.py) has the one adapter between a file's
paragraphs and entries (`entry_from_paragraph`, `paragraph_from_entry`).
"""
from __future__ import annotations

from ansible_collections.buildfarm.images.plugins.module_utils.release.model._entry import (  # noqa: F401
    ARCH_FIELDS,
    DOCKERFILE,
    FIELDS,
    NO_BUILDER,
    NO_BUILDER_IN_RELEASE,
    VERSION_RE,
    DroppedEntry,
    Entry,
    EntryError,
    SharedTagGroup,
    group_shared_tags,
    version_of,
)

# what library code imports from here (the names are defined in release/model/_entry.py)
__all__ = ["ARCH_FIELDS", "DOCKERFILE", "FIELDS", "NO_BUILDER", "NO_BUILDER_IN_RELEASE", "VERSION_RE", "DroppedEntry",
           "Entry", "EntryError", "SharedTagGroup", "group_shared_tags", "version_of"]
