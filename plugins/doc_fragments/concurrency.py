# Copyright: buildfarm.images contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The parallel-requests option of the modules that talk to a registry (manifest_list, registry_image_info,
release_verify); its argument spec is registry/_registry_args.py MAX_WORKERS_ARG."""
from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  max_workers:
    aliases: [concurrency]
    description:
      - Parallel requests to the registry.
    type: int
    default: 8
"""
