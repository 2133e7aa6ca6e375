# Copyright: buildfarm.images contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The verify stage's errors (as attest/errors.py for the attestations): bad input names the field and the value; a
verify past its time names what was still being read.

Plain Python, importable without Ansible.
"""
from __future__ import annotations

from ansible_collections.buildfarm.images.plugins.module_utils.common.errors import BuildfarmError


class VerifyInputError(BuildfarmError, ValueError):
    """Bad input of the verify stage (names the field and the value)."""


class VerifyTimeoutError(BuildfarmError):
    """The verify stage did not finish within its time (names what was still under way)."""
