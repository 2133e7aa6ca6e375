# Copyright: buildfarm.images contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The attestation error: an SBOM or a provenance statement that cannot be made names the image and the reason.

Plain Python, importable without Ansible.
"""
from __future__ import annotations

from typing import Any

from ansible_collections.buildfarm.images.plugins.module_utils.common.errors import _UNSET, BuildfarmError


class AttestationError(BuildfarmError, RuntimeError):
    """No attestation for ``image`` (an engine image id or a reference): ``problem`` says why (the scanner failed
    or timed out, the bundle has no such entry ...). ``file``/``field``/``value`` as BuildfarmError's."""

    def __init__(self, image: str, problem: str, file: str | None = None, field: str | None = None,
                 value: Any = _UNSET) -> None:
        self.image = image
        super().__init__(problem, file, field, value)

    def format(self) -> str:
        """`image <image>: <file>: field <field>: <problem> (value: <value>)`, each part only when known."""
        return ("image %s: " % self.image if self.image else "") + super().format()
