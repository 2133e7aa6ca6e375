# Copyright: buildfarm.images contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the library_manifest module returns of one library file: its entries (effective values), shared-tag groups,
maintainers and every validation error. Plain typed Python, importable without Ansible.
"""
from __future__ import annotations

import os
from typing import Any

from ansible_collections.buildfarm.images.plugins.module_utils.library.library_manifest import (
    LibraryManifestError,
    load,
)


def library_summary(path: str) -> dict[str, Any]:
    """The file's summary with `errors` (validation problems, file order) and `valid`. A file that cannot be read
    or parsed gives `failed: True`, `msg` and (for a syntax error) `errors`: there is nothing else to return."""
    try:
        manifest = load(path)
    except LibraryManifestError as exc:
        return {"failed": True, "msg": str(exc), "errors": [exc.to_dict()]}
    except OSError as exc:
        return {"failed": True, "msg": "cannot read library file %s: %s" % (path, exc)}
    errors = [e.to_dict() for e in manifest.errors()]
    entries = manifest.entries
    return {
        "changed": False,
        "name": os.path.basename(path),
        "maintainers": manifest.maintainers,
        "global_fields": manifest.global_fields,
        "architectures": manifest.architectures(),
        # the library file's view of an entry: its fields (a planned entry's FROM, version, variant aside)
        "entries": [dict({k: v for k, v in e.to_dict().items() if k not in ("from", "version", "variant")},
                         line=e.line) for e in entries],
        "shared_tag_groups": [g.to_dict() for g in manifest.shared_tag_groups()],
        "errors": errors,
        "valid": not errors,
    }
