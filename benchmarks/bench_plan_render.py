"""How long planning plus rendering the whole python family takes, in process (target: under 1 s) and per
ansible-playbook call (plan.yml, render.yml; first and unchanged runs).

The parents' library files come from ../shared/golden/2026-06-24/library (BUILDFARM_SHARED overrides ../shared);
without them planning cannot run, so only rendering is measured and the rest is skipped with a message.
Run: .venv/bin/python benchmarks/bench_plan_render.py [--repeat N]
"""
from __future__ import annotations

import argparse
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time

REPO = pathlib.Path(__file__).resolve().parents[1]
SHARED = pathlib.Path(os.environ.get("BUILDFARM_SHARED", REPO.parent / "shared"))
PARENTS = SHARED / "golden" / "2026-06-24" / "library"
FAMILY = REPO / "families" / "python"
TARGET_S = 1.0

sys.path.insert(0, str(REPO / ".collections"))
from ansible_collections.buildfarm.images.plugins.module_utils.family.definition import load_family  # noqa: E402
from ansible_collections.buildfarm.images.plugins.module_utils.family.plan import plan_family  # noqa: E402
from ansible_collections.buildfarm.images.plugins.module_utils.family.render import render_family, sync  # noqa: E402


def in_process(out: pathlib.Path, with_plan: bool) -> float:
    """Load, render (into `out`, swapped in when changed) and plan the family, writing the library text."""
    start = time.perf_counter()
    family = load_family(str(FAMILY))
    files = render_family(family)
    sync(family, str(out), files=files)
    if with_plan:
        plan_family(family, str(PARENTS), rendered=files).library_text()
    return time.perf_counter() - start


def playbook(name: str, extra: dict[str, str]) -> float:
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"),
               PATH=str(pathlib.Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", ""))
    cmd = ["ansible-playbook", str(REPO / "playbooks" / name)]
    for k, v in extra.items():
        cmd += ["-e", "%s=%s" % (k, v)]
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=str(REPO), env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit("%s failed:\n%s%s" % (name, proc.stdout[-2000:], proc.stderr[-2000:]))
    return elapsed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    ap.add_argument("--repeat", type=int, default=10, help="in-process repetitions (default 10)")
    args = ap.parse_args()
    with_plan = PARENTS.is_dir()
    if not with_plan:
        print("SKIP planning: %s not found (parents' library files); measuring rendering only" % PARENTS)

    with tempfile.TemporaryDirectory(prefix="bench-plan-render-") as tmp:
        out = pathlib.Path(tmp) / "render"
        first = in_process(out, with_plan)  # writes the tree
        unchanged = [in_process(out, with_plan) for run in range(args.repeat)]
        what = "plan + render" if with_plan else "render"
        print("in process, %s of families/python (%d Dockerfiles):" % (what, len(list(out.rglob("Dockerfile")))))
        print("  first run (writes the tree)  %.3f s" % first)
        print("  unchanged runs (n=%d)         median %.3f s, max %.3f s  (target < %.1f s: %s)" % (
            len(unchanged), statistics.median(unchanged), max(unchanged), TARGET_S,
            "OK" if max(unchanged + [first]) < TARGET_S else "MISSED"))

        pb_out = pathlib.Path(tmp) / "pb-render"
        print("per ansible-playbook call:")
        for label in ("first", "unchanged"):
            print("  render.yml (%s)%s %.2f s" % (label, " " * (10 - len(label)), playbook(
                "render.yml", {"buildfarm_family": str(FAMILY), "buildfarm_render_out": str(pb_out)})))
        if with_plan:
            lib = pathlib.Path(tmp) / "library" / "python"
            for label in ("first", "unchanged"):
                print("  plan.yml (%s)%s   %.2f s" % (label, " " * (10 - len(label)), playbook(
                    "plan.yml", {"buildfarm_family": str(FAMILY), "buildfarm_parents_library": str(PARENTS),
                                 "buildfarm_library_out": str(lib)})))
        else:
            print("  plan.yml: SKIP (no parents' library files)")


if __name__ == "__main__":
    main()
