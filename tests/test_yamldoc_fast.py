"""yamldoc reads with libyaml's C loader where it is installed and builds the values in one pass: the same values
as yaml.safe_load, the same FILE:LINE:COL in its errors."""

from __future__ import annotations

import pytest
import yaml

from esmctl import yamldoc

TEXT = """\
base: &base
  BatchSize: 10
  Filters: &filters [{Pattern: '{"a": 1}'}, {Pattern: {b: [1, 2.5, true, null]}}]
mappings:
  - <<: *base
    FunctionName: fn
    BatchSize: 20
    StartingPositionTimestamp: 2026-12-01T10:00:00Z
  - FunctionName: other
    Filters: *filters
    1: one
"""


def test_the_values_are_those_of_safe_load_and_an_alias_is_one_object():
    doc = yamldoc.load("spec.yaml", TEXT)
    assert doc.data == yaml.safe_load(TEXT)
    assert doc.data["mappings"][1]["Filters"] is doc.data["base"]["Filters"]
    assert doc.at(("mappings", 0, "BatchSize")) == "spec.yaml:7:16"
    assert doc.at(("mappings", 1, "Filters", 1, "Pattern", "b", 1)) == "spec.yaml:3:63"  # the 2.5


@pytest.mark.skipif(not hasattr(yaml, "CSafeLoader"), reason="libyaml is not installed")
def test_the_c_loader_reads_and_its_errors_keep_file_line_col(monkeypatch):
    made = []

    class Counting(yaml.CSafeLoader):
        def __init__(self, stream) -> None:
            made.append(stream)
            super().__init__(stream)

    monkeypatch.setattr(yaml, "CSafeLoader", Counting)
    assert yamldoc.load("spec.yaml", TEXT).data == yaml.safe_load(TEXT) and len(made) == 1
    with pytest.raises(yamldoc.YamlError) as exc:
        yamldoc.load("spec.yaml", "mappings:\n  - FunctionName: fn\n    FunctionName: again\n")
    assert exc.value.problems == ["spec.yaml:3:5: mappings[0].FunctionName: duplicate key (first at line 2)"]
    with pytest.raises(yamldoc.YamlError) as exc:
        yamldoc.load("spec.yaml", "mappings:\n  - BatchSize: !!int ten\n")
    assert exc.value.problems == ["spec.yaml:2:16: mappings[0].BatchSize: 'ten' is not a valid !!int"]
    with pytest.raises(yamldoc.YamlError) as exc:
        yamldoc.load("spec.yaml", "mappings:\n  - [a, b\n")
    assert exc.value.problems[0].startswith("spec.yaml:3:1: spec: ")
