"""The one error base and its line form."""
from __future__ import annotations

from ansible_collections.buildfarm.images.plugins.module_utils.common.errors import BuildfarmError, LineError


def test_buildfarm_error_format_and_details():
    exc = BuildfarmError("not a tag", "library/python", "Tags", "3.13 rc", details={"lists": []})
    assert str(exc) == "library/python: field Tags: not a tag (value: '3.13 rc')"
    assert exc.details == {"lists": []} and exc.has_value
    assert str(BuildfarmError("no registry")) == "no registry" and not BuildfarmError("x").has_value


def test_line_error_names_file_line_field_and_value_always():
    exc = LineError("families/python/family.yml", "variants", "", "empty variant", line=7)
    assert str(exc) == "families/python/family.yml:7: field variants: empty variant (value: '')"
    assert isinstance(exc, BuildfarmError) and exc.line == 7
    assert str(LineError("f.yml", "x", None, "missing")) == "f.yml: field x: missing (value: None)"
