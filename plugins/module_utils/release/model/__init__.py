# Copyright: buildfarm.images contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The release schema: every record one release passes from plan to report, importable from this one module.

docs/architecture.md shows which stage takes and gives which record. Each record is a dataclass with one validating
`from_dict(data, where)` and one `to_dict()`; statuses are Enums whose values are the strings results and reports
have always shown. The records are defined in this package's private modules, one per stage, and re-exported here.
"""
from __future__ import annotations

from ansible_collections.buildfarm.images.plugins.module_utils.release.model._record import (  # noqa: F401
    ModelError,
    Record,
    Status,
    plain,
)

# == entry: re-exports (library entry, shared-tag group) ==
from ansible_collections.buildfarm.images.plugins.module_utils.release.model._entry import (  # noqa: F401,E402
    DroppedEntry,
    Entry,
    EntryError,
    SharedTagGroup,
    group_shared_tags,
)
# == family: re-exports (the family of a bundle) ==
from ansible_collections.buildfarm.images.plugins.module_utils.release.model._family import (  # noqa: F401,E402
    BUNDLE_FORMAT,
    BundleFamily,
    FamilyKind,
    ReleaseBundle,
)
# == build: re-exports (build, test, push records) ==
from ansible_collections.buildfarm.images.plugins.module_utils.release.model._build import (  # noqa: F401
    BuildParent,
    BuildResult,
    BuildStatus,
    ImagePushResult,
    ImageSmokeResult,
    PushedTag,
    PushStatus,
    SmokeResult,
    TestStatus,
    build_results,
)
# == list: re-exports (list records) ==
from ansible_collections.buildfarm.images.plugins.module_utils.release.model._list import (  # noqa: F401
    ListAction,
    ListMember,
    ListResult,
    RepositoryLists,
)
# == docs-verify-report: re-exports (README, verify, report records) ==
from ansible_collections.buildfarm.images.plugins.module_utils.release.model._report import (  # noqa: F401,E402
    NOT_PUBLISHED,
    Cell,
    CellStatus,
    FamilyReadmes,
    HostResult,
    MemberVerification,
    ReadmeResult,
    Row,
    TagVerification,
    Unroutable,
    VerifyStatus,
)
