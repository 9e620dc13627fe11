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
    assert str(doc.at(("mappings", 0, "BatchSize"))) == "spec.yaml:7:16"
    assert str(doc.at(("mappings", 1, "Filters", 1, "Pattern", "b", 1))) == "spec.yaml:3:63"  # the 2.5


@pytest.mark.skipif(not hasattr(yaml, "CSafeLoader"), reason="libyaml is not installed")
def test_the_c_loader_reads_and_its_errors_keep_file_line_col(monkeypatch):
    made = []

    class Counting(yaml.CSafeLoader):
        def __init__(self, stream) -> None:
            made.append(stream)
            super().__init__(stream)

    monkeypatch.setattr(yaml, "CSafeLoader", Counting)
    text = TEXT + "# read by the C loader\n"
    assert yamldoc.load("spec.yaml", text).data == yaml.safe_load(text) and len(made) == 1
    with pytest.raises(yamldoc.YamlError) as exc:
        yamldoc.load("spec.yaml", "mappings:\n  - FunctionName: fn\n    FunctionName: again\n")
    assert str(exc.value) == ("spec.yaml:3:5: mappings[0].FunctionName: duplicate key (first at line 2)")
    with pytest.raises(yamldoc.YamlError) as exc:
        yamldoc.load("spec.yaml", "mappings:\n  - BatchSize: !!int ten\n")
    assert str(exc.value) == ("spec.yaml:2:16: mappings[0].BatchSize: 'ten' is not a valid !!int")
    with pytest.raises(yamldoc.YamlError) as exc:
        yamldoc.load("spec.yaml", "mappings:\n  - [a, b\n")
    assert str(exc.value.problems[0]).startswith("spec.yaml:3:1: spec: ")


def test_one_text_read_for_many_targets_is_composed_once_and_filled_for_each(monkeypatch):
    made = []
    real = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

    class Counting(real):
        def __init__(self, stream) -> None:
            made.append(stream)
            super().__init__(stream)

    monkeypatch.setattr(yaml, "CSafeLoader", Counting)
    text = "region: ${REGION}\nsize: ${SIZE}\narns:\n  - arn:aws:sqs:${REGION}:1:q\nsame: &s\n  n: ${SIZE}\nagain: *s\n"
    first = yamldoc.load("spec.yaml", text, {"REGION": "us-east-1", "SIZE": "5"}, environ={})
    second = yamldoc.load("spec.yaml", text, {"REGION": "eu-west-1", "SIZE": "true"}, environ={})
    third = yamldoc.load("spec.yaml", text, {"REGION": "ap-southeast-2"}, environ={}, defer_missing=True)
    assert len(made) == 1
    assert first.data == {"region": "us-east-1", "size": 5, "arns": ["arn:aws:sqs:us-east-1:1:q"],
                          "same": {"n": 5}, "again": {"n": 5}}
    assert second.data == {"region": "eu-west-1", "size": True, "arns": ["arn:aws:sqs:eu-west-1:1:q"],
                           "same": {"n": True}, "again": {"n": True}}
    assert third.data["size"] == "${SIZE}" and third.is_unfilled(("size",)) and len(third.problems) == 2
    assert str(second.at(("arns", 0))) == str(first.at(("arns", 0))) == "spec.yaml:4:5"
    yamldoc.load("other.yaml", text, {"REGION": "x", "SIZE": "1"}, environ={})  # another file: composed anew
    assert len(made) == 2
