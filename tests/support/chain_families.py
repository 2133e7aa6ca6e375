"""The debian -> python chain with one family's recipe changed: what the chain test and bench_chain release to make
python a build again, FROM a new debian (debian changed) or FROM the same one (python changed; then python is the
release's only build). The root filesystems stay cached: the archive is the same.
"""
from __future__ import annotations

import pathlib
import shutil

REPO = pathlib.Path(__file__).resolve().parents[2]
# where the label goes: debian's before its last instruction (its new image is a new parent for python); python's
# right after its FROM line, so the engine's layer cache has none of the instructions after it (a label at the end
# would leave every RUN layer cached: a "build" of seconds, nothing like a build of the new recipe)
_AT = {"debian": ("Dockerfile.j2", 'CMD ["bash"]', "before"),
       "python": ("Dockerfile-linux.j2", "FROM {{ base }}", "after")}


def family_changed(dest: pathlib.Path, family: str, label: str) -> pathlib.Path:
    """Copies of families/debian and families/python under ``dest``, ``family``'s Linux Dockerfile template with the
    label ``io.buildfarm.test=<label>`` added; returns ``dest`` (a families folder, for buildfarm_families_dir)."""
    for name in ("debian", "python"):
        shutil.copytree(REPO / "families" / name, dest / name)
    name, line, where = _AT[family]
    template = dest / family / name
    text = template.read_text()
    if line + "\n" not in text:
        raise ValueError("%s has no line %s to put the label %s" % (template, line, where))
    label_line = "LABEL io.buildfarm.test=%s" % label
    new = label_line + "\n" + line if where == "before" else line + "\n" + label_line
    template.write_text(text.replace(line, new, 1))
    return dest


def debian_changed(dest: pathlib.Path, label: str) -> pathlib.Path:
    """family_changed for debian: python is built again FROM the new debian."""
    return family_changed(dest, "debian", label)
