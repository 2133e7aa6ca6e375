"""The manifest_list module's work (registry/list_jobs.py): its jobs, checked before any request, and the index
annotations of each repository."""
from __future__ import annotations

import pytest

from ansible_collections.buildfarm.images.plugins.module_utils.registry.list_jobs import index_annotations, list_jobs
from ansible_collections.buildfarm.images.plugins.module_utils.registry.list_plan import PublishError

ENTRY = {"tags": ["1", "latest"], "architectures": ["amd64", "s390x"]}


def params(**kw):
    out = {"repository": None, "entries": None, "library_file": None, "repositories": None, "arch_namespaces": {}}
    out.update(kw)
    return out


def test_one_repository_and_the_batch_form_plan_the_same():
    single = list_jobs(params(repository="bb", entries=[ENTRY]))
    batch = list_jobs(params(repositories=[{"repository": "bb", "entries": [ENTRY], "library_file": None}]))
    assert single == batch
    assert [s.tag for s in single[0][1]] == ["1", "latest"]


@pytest.mark.parametrize("kw, message", [
    ({"repository": "bb"}, "repository bb: one of entries and library_file is required"),
    ({"repositories": [{"repository": "bb", "entries": [], "library_file": None}]},
     r"repositories\[0\]: exactly one of entries and library_file is required \(repository bb\)"),
    ({"repositories": [{"repository": "bb", "entries": [ENTRY], "library_file": "/x"}]},
     r"repositories\[0\]: exactly one of entries and library_file is required"),
])
def test_each_job_has_one_input(kw, message):
    with pytest.raises(PublishError, match=message):
        list_jobs(params(**kw))


def test_index_annotations_fill_in_name_and_repository():
    ann = {"org.opencontainers.image.url": "https://example.org/${name}", "src": "${repository}", "n": 3}
    assert index_annotations(ann, "library", "busybox") == {
        "org.opencontainers.image.url": "https://example.org/busybox", "src": "library/busybox", "n": 3}
    assert index_annotations(ann, "", "farm/python")["src"] == "farm/python"
