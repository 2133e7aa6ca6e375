"""What the release_report and release_verify action plugins read of the builders' hostvars."""
from __future__ import annotations

from ansible_collections.buildfarm.images.plugins.plugin_utils.hostvars import build_results, builder_vars

TASK_VARS = {"hostvars": {
    "b1": {"buildfarm_arch": "amd64", "buildfarm_build_result": {"arch": "amd64", "images": []}},
    "b2": {"buildfarm_arch": "s390x"},  # never recorded a result
}}


def test_builders_the_inventory_knows_in_the_order_given():
    assert list(builder_vars(TASK_VARS, ["b2", "gone", "b1"])) == ["b2", "b1"]
    assert builder_vars(None, ["b1"]) == {}


def test_only_builders_that_recorded_a_result_give_one():
    assert build_results(TASK_VARS, ["b1", "b2", "gone"]) == {"b1": {"arch": "amd64", "images": []}}
