"""yamldoc: safe YAML with FILE:LINE:COL for every value. Pure and in memory; every test runs with
libyaml's loader and again with PyYAML's pure-Python one, which must agree."""

from __future__ import annotations

import datetime
import io
import subprocess
import sys
import textwrap

import pytest
import yaml

from esmctl import yamldoc
from esmctl.yamldoc import YamlError, load, read_text


@pytest.fixture
def aws_env():
    """Overrides conftest's autouse fixture, which would start the moto sandbox: nothing here needs AWS."""
    return None


@pytest.fixture(autouse=True, params=["libyaml", "pure"])
def loader(request, monkeypatch):
    if request.param == "pure":
        monkeypatch.delattr(yaml, "CSafeLoader", raising=False)  # as on a PyYAML built without libyaml
    return request.param


def doc(text: str, **kwargs) -> yamldoc.Document:
    return load("spec.yaml", textwrap.dedent(text), environ=kwargs.pop("environ", {}), **kwargs)


def problems(text: str, **kwargs) -> list[str]:
    with pytest.raises(YamlError) as exc:
        doc(text, **kwargs)
    assert str(exc.value) == "\n".join(map(str, exc.value.problems))
    return [str(p) for p in exc.value.problems]


SPEC = """\
version: 1
defaults: &defaults
  BatchSize: 10
  Enabled: true
mappings:
  - FunctionName: orders-fn
    <<: *defaults
    BatchSize: 50
    FilterCriteria:
      Filters:
        - Pattern: {data: {type: [order]}}
  - FunctionName: jobs-fn
    <<: *defaults
"""


def test_values_are_what_safe_load_gives():
    d = doc(SPEC)
    assert d.path == "spec.yaml"
    assert d.data == yaml.safe_load(SPEC)
    assert d.data["mappings"][0]["BatchSize"] == 50  # the mapping's own key beats the merged one


def test_at_values_keys_ancestors_and_merged_keys():
    d = doc(SPEC)
    assert str(d.at(())) == "spec.yaml:1:1"
    assert str(d.at(("mappings", 0, "BatchSize"))) == "spec.yaml:8:16"
    assert str(d.at(("mappings", 0, "BatchSize"), key=True)) == "spec.yaml:8:5"
    assert str(d.at(("mappings", 0, "FilterCriteria", "Filters", 0, "Pattern", "data", "type", 0))) == "spec.yaml:11:35"
    # merged keys are where they were written, under every path that reaches them
    assert str(d.at(("mappings", 1, "BatchSize"))) == "spec.yaml:3:14"
    assert str(d.at(("mappings", 1, "Enabled"), key=True)) == "spec.yaml:4:3"
    assert str(d.at(("defaults", "Enabled"), key=True)) == "spec.yaml:4:3"
    # a path not there: its nearest ancestor; a list item has no key, so its own place
    assert str(d.at(("mappings", 1, "Nope", "deeper"))) == "spec.yaml:12:5"
    assert str(d.at(("mappings", 1, "Nope"), key=True)) == "spec.yaml:12:5"
    assert str(d.at(["mappings", 0], key=True)) == "spec.yaml:6:5"
    assert str(d.at(("elsewhere",))) == "spec.yaml:1:1"


def test_aliased_nodes_have_marks_under_both_paths():
    d = doc("""\
        a: &shared {x: [1, 2]}
        b: *shared
    """)
    assert str(d.at(("a", "x", 1))) == str(d.at(("b", "x", 1))) == "spec.yaml:1:20"


def test_empty_document_and_stdin_name():
    assert doc("").data is None
    assert str(doc("# only a comment\n").at(("a",))) == "spec.yaml:1:1"
    assert str(load("-", "a: 1\n").at(("a",))) == "<stdin>:1:4"


def test_more_than_one_document():
    assert problems("a: 1\n---\nb: 2\n") == [
        "spec.yaml:2:1: spec: more than one document; a spec is a single YAML document"]


def test_syntax_error_at_its_mark():
    [problem] = problems("""\
        version: 1
        mappings:
          - BatchSize: 1: 2
    """)
    assert problem.startswith("spec.yaml:3:17: spec: mapping values are not allowed ")


def test_control_character_at_its_place():
    [problem] = problems("a: 1\nb: é\x07\n")
    assert problem.startswith("spec.yaml:2:5: spec: unacceptable character #x0007: ")


def test_duplicate_keys_at_the_second_occurrence():
    assert problems("""\
        mappings:
          - FunctionName: f
            BatchSize: 1
            Enabled: true
            BatchSize: 2
          - {a: 1, a: 2}
    """) == ["spec.yaml:5:5: mappings[0].BatchSize: duplicate key (first at line 3)",
             "spec.yaml:6:12: mappings[1].a: duplicate key (first at line 6)"]


def test_duplicate_keys_in_a_mapping_with_a_merge():
    assert problems("""\
        base: &base {a: 1}
        m:
          <<: *base
          b: 1
          a: 2
          b: 3
    """) == ["spec.yaml:6:3: m.b: duplicate key (first at line 4)"]


def test_merges_override_in_yaml_order():
    d = doc("""\
        one: &one {a: 1, b: 1}
        two: &two {b: 2, c: 2}
        m:
          c: 3
          <<: [*one, *two]
    """)
    assert d.data["m"] == {"a": 1, "b": 1, "c": 3}  # earlier sources win over later, own keys over both
    assert str(d.at(("m", "b"))) == "spec.yaml:1:21"
    assert str(d.at(("m", "c"), key=True)) == "spec.yaml:4:3"


def test_merge_of_a_scalar_is_an_error():
    [problem] = problems("m:\n  <<: 5\n")
    assert problem == ("spec.yaml:2:7: m: expected a mapping or list of mappings for merging, but found scalar")


@pytest.mark.parametrize("text, expected", [
    ("a: &x [*x]\n", "spec.yaml:1:4: a[0]: recursive alias"),
    ("a: &x {b: 1, c: *x}\n", "spec.yaml:1:14: a.c: recursive alias"),
    ("a: &x {<<: *x}\n", "spec.yaml:1:8: a: recursive alias"),
    ("a: &x {b: {<<: *x}}\n", "spec.yaml:1:8: a.b.b: recursive alias"),
])
def test_recursive_aliases(text, expected):
    assert problems(text) == [expected]


def test_alias_bomb_stops_at_max_nodes():
    text = "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
    for name, prev in zip("bcdef", "abcde", strict=True):
        text += f"{name}: &{name} [{', '.join(['*' + prev] * 10)}]\n"
    assert problems(text, max_nodes=50_000) == ["spec.yaml:1:1: spec: more than 50000 values (an alias bomb?)"]
    assert problems("a: [1, 2, 3]\n", max_nodes=3) == ["spec.yaml:1:1: spec: more than 3 values (an alias bomb?)"]


def test_deep_nesting_is_an_error_not_a_crash():
    assert problems("a: " + "[" * 150 + "]" * 150 + "\n")[0].endswith(": nested more than 100 levels deep")
    # libyaml composes by C recursion and would die of SIGSEGV near 20,000 levels
    assert problems("[\n" * 30_000 + "]" * 30_000) == ["spec.yaml:101:1: spec: nested more than 100 levels deep"]


def test_placeholders_typed_like_yaml_when_plain_and_whole():
    d = doc("""\
        n: ${N}
        quoted: '${N}'
        text: batch-${N}
        flag: ${FLAG}
        twice: ${N}${N}
    """, variables={"N": "500", "FLAG": "false"})
    assert d.data == {"n": 500, "quoted": "500", "text": "batch-500", "flag": False, "twice": "500500"}


def test_a_key_yaml_reads_as_another_texts_value_is_a_surprise():
    """JSON names a key by text: `1.50:` became "1.5" and `-0:` "0" in a filter pattern, silently (a review); `1:`
    is named as written."""
    d = doc("body:\n  1.50: [v]\n  -0: [w]\n  1: [x]\n  '2.0': [z]\n")
    assert sorted(m for _, m in d.surprises) == ["key -0 is read by YAML 1.1 as 0: quote it or write 0",
                                                 "key 1.50 is read by YAML 1.1 as 1.5: quote it or write 1.5"]


def test_a_placeholder_filled_with_what_yaml_reads_as_text_and_json_as_a_number_is_said_as_the_literal_is():
    d = doc("a: ${N}\nb: !!str 1e3\nc: 1e3\nd: ${A}.${B}\ne: ${A}${B}\n", variables={"N": "1e3", "A": "1", "B": "5"})
    assert [(p, m.split(" is read")[0]) for p, m in d.surprises] == [(("a",), "1e3"), (("c",), "1e3")]
    assert d.data["d"] == "1.5" and d.data["e"] == "15"  # several placeholders make text, as ever (a review)


def test_a_placeholder_written_with_a_tag_keeps_it():
    """`!!str ${N}` is text whatever N holds (a tag's value `010` was the number 8); the tag is read from the text,
    as the composed node has STR either way. Each filled again for other variables, as a fleet's targets are."""
    text = """\
        a: !!str ${N}
        b: &x !!str ${N}
        c: ! ${N}
        d: &y
          !!str ${N}
        e: ${N}
        f: *x
    """
    assert doc(text, variables={"N": "010"}).data == {"a": "010", "b": "010", "c": "010", "d": "010", "e": 8,
                                                      "f": "010"}
    assert doc(text, variables={"N": "true"}).data == {"a": "true", "b": "true", "c": "true", "d": "true", "e": True,
                                                       "f": "true"}
    assert doc("n: !!int ${N}\n", variables={"N": "7"}).data == {"n": 7}
    with pytest.raises(YamlError) as bad:
        doc("n: !!int ${N}\n", variables={"N": "x"})
    assert "'x' is not a valid !!int" in str(bad.value.problems[0])


def test_placeholders_inside_anchors_and_merges():
    d = doc("""\
        defaults: &defaults
          BatchSize: ${N}
        mappings:
          - <<: *defaults
            FunctionName: f-${N}
    """, variables={"N": "500"})
    assert d.data["mappings"][0] == {"BatchSize": 500, "FunctionName": "f-500"}
    assert str(d.at(("mappings", 0, "BatchSize"))) == "spec.yaml:2:14"


def test_placeholder_from_variables_then_environ(monkeypatch):
    assert doc("a: ${A}\n", variables={"A": "var"}, environ={"A": "env"}).data == {"a": "var"}
    assert doc("a: ${A}\n", environ={"A": "env"}).data == {"a": "env"}
    monkeypatch.setenv("ESMCTL_TEST_A", "os")
    assert load("spec.yaml", "a: ${ESMCTL_TEST_A}\n").data == {"a": "os"}


def test_every_missing_placeholder_reported():
    assert problems("""\
        a: ${A}
        b:
          - x-${B}-${C}
        c: ${A}
    """) == ["spec.yaml:1:4: a: no value for ${A}: pass --var A=... or set it in the environment",
             "spec.yaml:3:5: b[0]: no value for ${B}: pass --var B=... or set it in the environment",
             "spec.yaml:3:5: b[0]: no value for ${C}: pass --var C=... or set it in the environment",
             "spec.yaml:4:4: c: no value for ${A}: pass --var A=... or set it in the environment"]


def test_a_literal_placeholder_is_written_with_two_dollars_and_a_name_that_is_none_is_a_problem():
    """`$${…}` is a literal `${…}` (a filter may match such text), never filled nor typed; `${team-name}` cannot be a
    variable (--var refuses that name), so it is said, not kept as text: a filter on it would match nothing."""
    d = doc("a: $${user}\nb: x-$${A}-${A}\nc: $${N}\nd: $${{ x }}\ne: $$${N}\n", variables={"A": "1", "N": "5"})
    assert d.data == {"a": "${user}", "b": "x-${A}-1", "c": "${N}", "d": "${{ x }}", "e": "$${N}"}
    # a ${ that opens no ${NAME}, a brace inside it too (a review saw `${{ github.sha }}` kept, and
    # `${x${A}}` filled inside and kept outside, as text a filter would never match)
    assert problems('a: ${{ github.sha }}\nb: ${x${A}}\nc: price ${\nd: "${\\nx}"\n', variables={"A": "1"}) == [
        "spec.yaml:1:4: a: ${{ github.sha } is not a placeholder: a variable's name is letters, digits and _ (not "
        "first); write $${ for a literal ${",
        "spec.yaml:2:4: b: ${x${A} is not a placeholder: a variable's name is letters, digits and _ (not first); "
        "write $${ for a literal ${",
        "spec.yaml:3:4: c: ${ is not a placeholder: a variable's name is letters, digits and _ (not first); write "
        "$${ for a literal ${",
        "spec.yaml:4:4: d: ${ is not a placeholder: a variable's name is letters, digits and _ (not first); write "
        "$${ for a literal ${"]  # one line: a line break in the value is not said
    assert problems("a: ${team-name}\nb: ${}\nc: [\"${ok}\"]\n", variables={"ok": "x", "team-name": "y"}) == [
        "spec.yaml:1:4: a: ${team-name} is not a placeholder: a variable's name is letters, digits and _ (not "
        "first); write $${ for a literal ${",
        "spec.yaml:2:4: b: ${} is not a placeholder: a variable's name is letters, digits and _ (not first); write "
        "$${ for a literal ${"]


def test_missing_placeholders_deferred_leave_the_rest_of_the_document():
    d = doc("a: ${A}\nb:\n  - x-${B}\n  - &c ${C}\nd: *c\ne: 5\n", defer_missing=True)
    assert [str(p) for p in d.problems] == [
        "spec.yaml:1:4: a: no value for ${A}: pass --var A=... or set it in the environment",
        "spec.yaml:3:5: b[0]: no value for ${B}: pass --var B=... or set it in the environment",
        "spec.yaml:4:5: b[1]: no value for ${C}: pass --var C=... or set it in the environment"]
    assert d.data == {"a": "${A}", "b": ["x-${B}", "${C}"], "d": "${C}", "e": 5}
    assert d.unfilled == {("a",), ("b", 0), ("b", 1), ("d",)}
    assert d.is_unfilled(("b", 0, "x")) and not d.is_unfilled(("b",)) and not d.is_unfilled(("e",))
    # other problems stay fatal, the missing placeholders with them
    assert problems("a: ${A}\nb: !!int x\n", defer_missing=True) == [
        "spec.yaml:1:4: a: no value for ${A}: pass --var A=... or set it in the environment",
        "spec.yaml:2:4: b: 'x' is not a valid !!int"]


def test_placeholder_in_an_aliased_value_filled_once():
    d = doc("a: &x ${A}\nb: *x\n", variables={"A": "${B}", "B": "no"})
    assert d.data == {"a": "${B}", "b": "${B}"}  # a value is not read again for placeholders


def test_placeholders_in_keys_are_filled_or_said_missing():
    """`Tags: {"${TEAM_KEY}": orders}`: a key is filled as a value is, and one without a value is a problem where it
    is written (a review found the literal `${TEAM_KEY}` sent as a tag key, and no problem said); filled keys that
    meet are a duplicate key; a document read again for other variables (a fleet's targets) gets their keys."""
    text = "tags:\n  ${K}: orders\n  owner: x\n"
    assert doc(text, variables={"K": "team"}).data == {"tags": {"team": "orders", "owner": "x"}}
    assert doc(text, variables={"K": "unit"}).data == {"tags": {"unit": "orders", "owner": "x"}}
    assert problems(text) == ["spec.yaml:2:3: tags: no value for ${K}: pass --var K=... or set it in the environment"]
    assert problems(text, variables={"K": "owner"}) == ["spec.yaml:3:3: tags.owner: duplicate key (first at line 2)"]
    assert doc("base: &b\n  ${K}: 1\nm:\n  <<: *b\n  z: 2\n", variables={"K": "k"}).data["m"] == {"k": 1, "z": 2}
    missing = doc(text, defer_missing=True)
    assert missing.unfilled_keys == {("tags", "${K}")} and missing.is_unfilled(("tags", "${K}"))


def test_a_merge_whose_keys_are_filled_is_merged_anew_for_each_targets_variables():
    """Which pairs a `<<:` merge keeps (a mapping's own key over a merged one) depends on the filled keys: a document
    read again for another target's variables is composed again, not reused flattened for the last one's (a review
    found a fleet's second target without a merged tag)."""
    text = "base: &t\n  ${TK}: fromanchor\nm:\n  <<: *t\n  team: own\n"
    for value, merged in (("team", {"team": "own"}), ("owner", {"owner": "fromanchor", "team": "own"}),
                          ("team", {"team": "own"})):
        assert load("spec.yaml", text, {"TK": value}, environ={}).data["m"] == merged


def test_keys_that_are_not_scalars_are_errors():
    assert problems("? [a, b]\n: 1\n") == ["spec.yaml:1:3: spec: a key must be a single value, not a sequence"]
    assert problems("m:\n  <<: {a: 1}\n  ? {x: 1}\n  : 2\n") == [
        "spec.yaml:3:5: m: a key must be a single value, not a mapping"]


def test_scalar_keys_keep_their_yaml_types():
    assert doc("1: x\nfalse: y\nnull: z\n").data == {1: "x", False: "y", None: "z"}
    d = doc("m:\n  1: x\n  2.5: y\n")
    assert d.data == {"m": {1: "x", 2.5: "y"}}
    assert str(d.at(("m", 2.5), key=True)) == "spec.yaml:3:3"


def test_tags_beyond_plain_values_are_errors():
    assert problems("""\
        a: !Ref x
        b: !!binary aGVsbG8=
        c: !!set {x}
        d: !!python/object:os.system ls
        e: !!int abc
        f: 2024-13-45
    """) == ["spec.yaml:1:4: a: unsupported tag !Ref",
             "spec.yaml:2:4: b: unsupported tag !!binary",
             "spec.yaml:3:4: c: unsupported tag !!set",
             "spec.yaml:4:4: d: unsupported tag !!python/object:os.system",
             "spec.yaml:5:4: e: 'abc' is not a valid !!int",
             "spec.yaml:6:4: f: '2024-13-45' is not a valid !!timestamp"]


def test_datetimes_left_as_pyyaml_gives_them():
    d = doc("d: 2024-01-02\nt: 2024-01-02T03:04:05Z\n")
    assert d.data["d"] == datetime.date(2024, 1, 2)
    assert d.data["t"] == yaml.safe_load("t: 2024-01-02T03:04:05Z\n")["t"]


def test_problems_sorted_by_place():
    assert [p.split(": ")[0] for p in problems("a: ${A}\nb: {x: 1, x: 2}\nc: !X y\n")] == [
        "spec.yaml:1:4", "spec.yaml:2:11", "spec.yaml:3:4"]


SURPRISES = [
    ("NO", "\"NO\" is read by YAML 1.1 as false: quote it ('NO') or write false"),
    ("off", "\"off\" is read by YAML 1.1 as false: quote it ('off') or write false"),
    ("On", "\"On\" is read by YAML 1.1 as true: quote it ('On') or write true"),
    ("Yes", "\"Yes\" is read by YAML 1.1 as true: quote it ('Yes') or write true"),
    ("True", "\"True\" is read by YAML 1.1 as true: quote it ('True') or write true"),
    ("0755", "0755 is read by YAML 1.1 as 493: quote it or write 493"),
    ("0x1F", "0x1F is read by YAML 1.1 as 31: quote it or write 31"),
    ("1_000", "1_000 is read by YAML 1.1 as 1000: quote it or write 1000"),
    ("190:20:30", "190:20:30 is read by YAML 1.1 as 685230: quote it or write 685230"),
    ("+5", "+5 is read by YAML 1.1 as 5: quote it or write 5"),
    ("1_000.5", "1_000.5 is read by YAML 1.1 as 1000.5: quote it or write 1000.5"),
    (".inf", ".inf is read by YAML 1.1 as Infinity, which JSON cannot hold: quote it"),
    ("-.inf", "-.inf is read by YAML 1.1 as -Infinity, which JSON cannot hold: quote it"),
    (".nan", ".nan is read by YAML 1.1 as NaN, which JSON cannot hold: quote it"),
    ("2024-01-01", "2024-01-01 is read as a date: quote it"),
    ("2024-01-01 10:00:00", "2024-01-01 10:00:00 is read as a date and time: quote it"),
    ("1e3", "1e3 is read by YAML 1.1 as the text '1e3', not a number: write 1000.0, or quote it"),
    ("-2.5E3", "-2.5E3 is read by YAML 1.1 as the text '-2.5E3', not a number: write -2500.0, or quote it"),
    ("1e999", "1e999 is read by YAML 1.1 as the text '1e999', and as a number JSON cannot hold it: quote it"),
    ("~", "\"~\" is read by YAML 1.1 as null: quote it ('~') or write null"),
    ("", "an empty value is read by YAML 1.1 as null: quote it ('') or write null"),
]


@pytest.mark.parametrize("text, message", SURPRISES)
def test_yaml11_surprises(text, message):
    d = doc(f"p:\n  field: {text}\n")
    assert d.yaml11_surprises(("p",)) == [(("p", "field"), message)]


@pytest.mark.parametrize("text", ["true", "false", "null", "0", "-2", "42", "1.5", "-0.25", "1.0e+3", "-2.5E-2", "y",
                                  "n", "'NO'", '"0755"', "'2024-01-01'", "plain words", "'~'", "!!str yes"])
def test_what_json_reads_alike_is_no_surprise(text):
    assert doc(f"p: {{field: {text}}}\n").yaml11_surprises(()) == []


def test_yaml11_surprises_under_a_prefix_with_keys_and_aliases():
    d = doc("""\
        off: 1
        mappings:
          - Pattern: &p {status: [NO], on: [1]}
          - Pattern: *p
    """)
    assert d.yaml11_surprises(("mappings", 1)) == [
        (("mappings", 1, "Pattern", "status", 0),
         "\"NO\" is read by YAML 1.1 as false: quote it ('NO') or write false"),
        (("mappings", 1, "Pattern", True), "key \"on\" is read by YAML 1.1 as true: quote it ('on') or write true")]
    assert len(d.yaml11_surprises(())) == 5
    assert d.data["mappings"][1]["Pattern"] == {"status": [False], True: [1]}


def test_surprise_from_a_placeholder_is_still_reported():
    d = doc("p:\n  x: ${V}\n", variables={"V": "off"})
    assert d.yaml11_surprises(("p",)) == [(("p", "x"), "\"off\" is read by YAML 1.1 as false: quote it ('off') "
                                                       "or write false")]


def test_read_text_file_bom_limit_and_errors(tmp_path):
    path = tmp_path / "spec.yaml"
    path.write_bytes(b"\xef\xbb\xbfa: 1\n")
    assert read_text(str(path)) == "a: 1\n"
    path.write_bytes(b"a: 12345\n")
    with pytest.raises(YamlError) as exc:
        read_text(str(path), max_bytes=5)
    assert str(exc.value) == (f"{path}:1:1: spec: more than 5 bytes, the limit for one spec file (10,000 "
                                  "mappings with every setting take about 10 MB): split it into several files")
    path.write_bytes(b"a: \xff\n")
    with pytest.raises(YamlError) as exc:
        read_text(str(path))
    assert str(exc.value) == (f"{path}:1:1: spec: not UTF-8 text (invalid start byte at byte 3)")
    with pytest.raises(YamlError) as exc:
        read_text(str(tmp_path / "missing.yaml"))
    assert str(exc.value) == (f"{tmp_path / 'missing.yaml'}:1:1: spec: cannot read: No such file or directory")


def test_read_text_stdin(monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO("a: é\n".encode())))
    assert read_text("-") == "a: é\n"
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"x" * 11)))
    with pytest.raises(YamlError) as exc:
        read_text("-", max_bytes=10)
    assert str(exc.value) == ("<stdin>:1:1: spec: more than 10 bytes, the limit for one spec file (10,000 mappings "
                                   "with every setting take about 10 MB): split it into several files")


def test_both_loaders_agree_on_data_and_places(monkeypatch):
    text = SPEC + "notes: {ü: [1, 😀, x], é: 😀😀 y}\n"  # columns count characters, not bytes
    d = doc(text)
    monkeypatch.delattr(yaml, "CSafeLoader", raising=False)
    pure = doc(text)
    assert pure.data == d.data
    assert {p: pure.at(p) for p in d.marks} == {p: d.at(p) for p in d.marks}
    assert {p: pure.at(p, key=True) for p in d.key_marks} == {p: d.at(p, key=True) for p in d.key_marks}


def test_equal_keys_of_different_types_are_duplicates():
    # Python's dict makes 1 and true one key: one value would silently be lost
    assert problems("1: x\ntrue: y\n") == ["spec.yaml:2:1: true: duplicate key (first at line 1)"]


def test_imports_nothing_of_aws_and_cli_does_not_import_it(loader):
    if loader == "pure":
        pytest.skip("once is enough")
    code = ("import sys, esmctl.cli; print('esmctl.yamldoc' in sys.modules); import esmctl.yamldoc; "
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'boto3', 'botocore', 'rich'}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "[]"]
