"""One publisher per repository (registry/_locks.py)."""
from __future__ import annotations

import pytest

from ansible_collections.buildfarm.images.plugins.module_utils.registry._locks import repository_lock
from ansible_collections.buildfarm.images.plugins.module_utils.registry.list_plan import PublishError


def test_a_second_publisher_waits_then_stops_naming_the_holder(tmp_path):
    waits = []
    with repository_lock("127.0.0.1:5000", "library/x", 1, str(tmp_path)) as path:
        assert "pid" in open(path).read()
        with pytest.raises(PublishError, match=r"another publish of 127.0.0.1:5000/library/x is running \(pid \d+"):
            with repository_lock("127.0.0.1:5000", "library/x", 1, str(tmp_path), sleep=waits.append):
                pass
        # another repository is another lock
        with repository_lock("127.0.0.1:5000", "library/y", 0, str(tmp_path)):
            pass
    assert sum(waits) == 1
    with repository_lock("127.0.0.1:5000", "library/x", 0, str(tmp_path)):
        pass  # released
