# Copyright: buildfarm.images contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The labels of every image the farm builds, Linux and Windows alike, computed in one place.

`org.opencontainers.image.base.name` is the entry's first FROM image (the one the image is built on, as the OCI
annotation defines it), `.revision` the entry's GitCommit or else its family's last commit, `.version` the entry's
full version, `.source` and `.created` the family's; `io.buildfarm.input-digest` the digest of the build inputs.
Empty values are left out. Plain typed Python.
"""
from __future__ import annotations

from ansible_collections.buildfarm.images.plugins.module_utils.build.build_inputs import INPUT_DIGEST_LABEL

OCI = "org.opencontainers.image."


def image_labels(*, source: str = "", revision: str = "", version: str = "", created: str = "", base: str = "",
                 input_digest: str = "") -> dict[str, str]:
    labels = {
        OCI + "source": source,
        OCI + "revision": revision,
        OCI + "version": version,
        OCI + "created": created,
        OCI + "base.name": base,
        INPUT_DIGEST_LABEL: input_digest,
    }
    return {k: v for k, v in labels.items() if v}
