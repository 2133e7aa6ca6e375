"""The debian -> python chain with debian's recipe changed and python's not: what the chain test and bench_chain
release to make python a build again FROM a new debian (the root filesystems stay cached: the archive is the same).
"""
from __future__ import annotations

import pathlib
import shutil

REPO = pathlib.Path(__file__).resolve().parents[2]


def debian_changed(dest: pathlib.Path, label: str) -> pathlib.Path:
    """Copies of families/debian and families/python under ``dest``, debian's Dockerfile with the label
    ``io.buildfarm.test=<label>`` added; returns ``dest`` (a families folder, for buildfarm_families_dir)."""
    for name in ("debian", "python"):
        shutil.copytree(REPO / "families" / name, dest / name)
    template = dest / "debian" / "Dockerfile.j2"
    text = template.read_text()
    if 'CMD ["bash"]' not in text:
        raise ValueError("%s has no CMD [\"bash\"] line to put the label before" % template)
    template.write_text(text.replace('CMD ["bash"]', 'LABEL io.buildfarm.test=%s\nCMD ["bash"]' % label, 1))
    return dest
