# Copyright: buildfarm.images contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The progress options of the builder stages (image_build, image_test, image_push; module_utils/build/progress.py):
one status file format, followed by the build role's one progress loop."""
from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  status_file:
    description:
      - A JSON file rewritten every 5 seconds while the module works (run it with C(async) and poll) with C(job)
        (C(build), C(test) or C(push)), C(stage), every image's C(state) (C(waiting), then C(building),
        C(testing) or C(pushing) while it runs, then its result) with C(started) and C(seconds), C(finished), and a
        one-line C(summary) naming the host, what is running and for how long.
      - The build role prints the summary while it polls, so a long build shows what runs where.
      - Written atomically (a reader never sees half a file); absent or empty, no file is written.
    type: path
  host:
    description:
      - This builder's inventory hostname, named in the summary of I(status_file).
    type: str
    default: ""
"""
