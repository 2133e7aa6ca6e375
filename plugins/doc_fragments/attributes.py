# Copyright: buildfarm.images contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Attributes shared by modules: INFO_MODULE for those that only read (buildfarm.images.attributes.info_module)."""
from __future__ import annotations


class ModuleDocFragment:
    INFO_MODULE = r"""
options: {}
attributes:
  check_mode:
    support: full
    description: Read-only; the same result in check mode.
  diff_mode:
    support: none
    description: Changes nothing, so there is no diff.
"""
