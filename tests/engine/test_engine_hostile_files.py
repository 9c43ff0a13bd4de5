"""Hostile or broken files are refused fast, with one clear error, never a crash.

The nesting tests run the loader in a subprocess: before the engine built
documents from libyaml's event stream, 100,000 nested `- - - ...` killed the
interpreter with a segmentation fault, which no in-process test could report.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from engine_support import PROJECT_ROOT, TINY, diagnose, rubric, tiny

from engine import load_scenario, load_scenario_text
from engine.yaml_source import MAX_DEPTH, MAX_FILE_BYTES, parse_yaml

# --------------------------------------------------------------------------
# Syntax
# --------------------------------------------------------------------------


def test_a_yaml_syntax_error_is_reported_where_the_parser_stopped() -> None:
    assert diagnose(tiny({2: "title: [Tiny"})) == [
        "broken.yaml:3:7: error: YAML syntax error: while parsing a flow sequence did not find expected ',' or ']'",
    ]


def test_an_unquoted_colon_in_prose_is_a_syntax_error_at_the_colon() -> None:
    assert diagnose(tiny({13: "    text: She said: fine"})) == [
        "broken.yaml:13:19: error: YAML syntax error: mapping values are not allowed in this context",
    ]


def test_a_tab_used_for_indentation_is_a_syntax_error() -> None:
    assert diagnose(tiny({3: "client:\tAnn\n\tx: 1"})) == [
        "broken.yaml:4:1: error: YAML syntax error: while scanning a plain scalar "
        "found a tab character that violates indentation",
    ]


def test_a_second_document_in_one_file_is_refused() -> None:
    assert diagnose(TINY + "---\nid: other\n") == [
        "broken.yaml:36:1: error: YAML syntax error: expected a single document in the stream "
        "but found another document",
    ]


def test_a_file_that_is_not_utf8_is_refused_at_the_bad_byte() -> None:
    assert diagnose(TINY.encode() + b"x: \xff\n") == [
        "broken.yaml:36:4: error: file is not valid UTF-8 text",
    ]


def test_a_byte_order_mark_is_accepted() -> None:
    assert diagnose("\ufeff" + TINY) == []
    assert diagnose(b"\xef\xbb\xbf" + TINY.encode()) == []


# --------------------------------------------------------------------------
# Documents of the wrong shape
# --------------------------------------------------------------------------


def test_an_empty_file_is_refused_with_one_clear_error() -> None:
    assert diagnose("") == ["broken.yaml:1:1: error: file is empty"]
    assert diagnose(b"") == ["broken.yaml:1:1: error: file is empty"]


def test_a_file_of_blank_lines_and_comments_counts_as_empty() -> None:
    assert diagnose("   \n\n") == ["broken.yaml:1:1: error: file is empty"]
    assert diagnose("# nothing\n# here\n") == ["broken.yaml:1:1: error: file is empty"]


def test_a_document_that_is_a_list_is_refused_as_not_a_mapping() -> None:
    assert diagnose("- id: tiny\n- title: Tiny\n") == [
        "broken.yaml:1:1: error: a scenario must be a mapping at the top level, got a list",
    ]


def test_a_document_that_is_plain_text_is_refused_as_not_a_mapping() -> None:
    assert diagnose("just some words\n") == [
        "broken.yaml:1:1: error: a scenario must be a mapping at the top level, got the text 'just some words'",
    ]


def test_a_document_that_is_a_number_is_refused_as_not_a_mapping() -> None:
    assert diagnose("42\n") == [
        "broken.yaml:1:1: error: a scenario must be a mapping at the top level, got the int 42",
    ]


# --------------------------------------------------------------------------
# Size, nesting and aliases
# --------------------------------------------------------------------------


def test_text_over_the_size_limit_is_refused_without_being_parsed() -> None:
    huge = "title: " + "x" * MAX_FILE_BYTES + "\n"
    started = time.perf_counter()
    assert diagnose(huge) == [
        f"broken.yaml:1:1: error: file is {len(huge):,} bytes; scenario files are limited to 1,000,000 bytes",
    ]
    assert time.perf_counter() - started < 1.0


def test_a_huge_file_on_disk_is_refused_without_being_read_whole(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    with open(path, "wb") as handle:
        handle.truncate(50_000_000)  # sparse: 50 MB of NUL bytes
    loaded = load_scenario(path, rubric())
    assert [d.message for d in loaded.diagnostics] == [
        "file is 50,000,000 bytes; scenario files are limited to 1,000,000 bytes",
    ]
    assert (loaded.diagnostics[0].line, loaded.diagnostics[0].column) == (1, 1)


def test_a_file_of_many_small_values_is_refused_past_the_value_limit() -> None:
    many = "items: [" + ", ".join("1" for _ in range(210_000)) + "]\n"
    started = time.perf_counter()
    lines = diagnose(many)
    assert len(lines) == 1
    assert lines[0].startswith("broken.yaml:1:")
    assert "document expands to more than 200,000 values (too large, or an alias bomb); refusing to load it" in lines[0]
    assert time.perf_counter() - started < 20.0  # about 0.3 s on an idle machine; the point is: no hang


def test_block_mappings_nested_deeper_than_the_limit_are_refused_at_the_first_too_deep_value() -> None:
    deep = "".join("  " * level + f"k{level}:\n" for level in range(60)) + "  " * 60 + "v: 1\n"
    assert diagnose(deep) == [
        f"broken.yaml:{MAX_DEPTH + 2}:{2 * (MAX_DEPTH + 1) + 1}: error: "
        f"values are nested more than {MAX_DEPTH} levels deep",
    ]


def test_nesting_up_to_the_limit_is_accepted_by_the_parser() -> None:
    # 40 levels of lists inside the top-level mapping: parsed, then refused as a scenario
    text = "a: " + "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1) + "\n"
    parsed = parse_yaml(text)
    assert parsed.problems == []


def _load_in_subprocess(text_expression: str) -> subprocess.CompletedProcess[str]:
    script = (
        "import sys\n"
        "from engine import load_scenario_text\n"
        f"text = {text_expression}\n"
        "for d in load_scenario_text(text, None, 'deep.yaml').diagnostics:\n"
        "    print(d)\n"
    )
    return subprocess.run(
        [sys.executable, "-c", script], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60
    )


def test_brackets_nested_100000_deep_are_refused_without_crashing_the_process() -> None:
    started = time.perf_counter()
    done = _load_in_subprocess("'[' * 100_000 + ']' * 100_000")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        f"deep.yaml:1:{MAX_DEPTH + 2}: error: values are nested more than {MAX_DEPTH} levels deep",
    ]
    assert time.perf_counter() - started < 10


def test_block_sequences_nested_100000_deep_are_refused_without_crashing_the_process() -> None:
    # `- - - - ... x`: 2 bytes per level, so 100,000 levels fit in 200 kB
    done = _load_in_subprocess("'- ' * 100_000 + 'x'")
    assert done.returncode == 0, done.stderr  # was -11 (SIGSEGV) with libyaml's composer
    assert done.stdout.splitlines() == [
        f"deep.yaml:1:{2 * (MAX_DEPTH + 1) + 1}: error: values are nested more than {MAX_DEPTH} levels deep",
    ]


def test_explicit_keys_nested_100000_deep_are_refused_without_crashing_the_process() -> None:
    done = _load_in_subprocess("'? ' * 100_000 + 'x'")
    assert done.returncode == 0, done.stderr
    assert "values are nested more than 40 levels deep" in done.stdout


BILLION_LAUGHS = """\
a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]
b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]
c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]
d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]
e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]
f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]
g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]
h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g]
i: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h]
"""


def test_an_alias_bomb_is_refused_quickly_at_the_alias_that_crosses_the_limit() -> None:
    started = time.perf_counter()
    assert diagnose(BILLION_LAUGHS) == [
        # b..d add 8,289 values through aliases; the second *d on line 5 passes 20,000
        "broken.yaml:5:12: error: aliases expand to more than 20,000 values (an alias bomb?); refusing to load it",
    ]
    assert time.perf_counter() - started < 1.0


def test_an_alias_that_contains_itself_is_refused() -> None:
    assert diagnose(tiny({9: "  trust: &loop [1, *loop]"})) == [
        "broken.yaml:9:20: error: an alias refers to one of its own parents (recursive data)",
    ]


def test_an_alias_to_an_undefined_anchor_is_a_syntax_error() -> None:
    assert diagnose(tiny({2: "title: *nothing"})) == [
        "broken.yaml:2:8: error: YAML syntax error: found undefined alias 'nothing'",
    ]


def test_ordinary_anchors_and_aliases_still_work() -> None:
    text = tiny({
        17: "        scores: &best {accountability: 4, self_focus: 0, exploration: 4}",
        24: "        scores: *best",
    })
    loaded = load_scenario_text(text, rubric(), "broken.yaml")
    assert loaded.ok
    assert loaded.scenario is not None
    assert loaded.scenario.nodes["opening"].choices[1].scores == {
        "accountability": 4, "self_focus": 0, "exploration": 4,
    }


def test_a_problem_inside_aliased_content_is_reported_once_at_its_definition() -> None:
    text = tiny({
        17: "        scores: &best {accountability: 9, self_focus: 0, exploration: 4}",
        24: "        scores: *best",
    })
    assert diagnose(text) == ["broken.yaml:17:40: error: score 9 for 'accountability' is outside its range 0-4"]


def test_merge_keys_are_refused_with_advice() -> None:
    assert diagnose(tiny({8: "variables:\n  <<: {trust: 0}", 9: None})) == [
        "broken.yaml:9:3: error: merge keys ('<<') are not supported; write the keys out",
    ]


def test_a_list_used_as_a_mapping_key_is_refused() -> None:
    assert diagnose(tiny({9: "  trust: 0\n  ? [a, b]\n  : 1"})) == [
        "broken.yaml:10:5: error: mapping keys must be plain values, not lists or mappings",
    ]


# --------------------------------------------------------------------------
# Tags: loading never constructs objects
# --------------------------------------------------------------------------


def test_a_python_object_tag_is_refused_and_nothing_is_run(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    text = f'!!python/object/apply:os.system ["touch {marker}"]\n'
    assert diagnose(text) == [
        "broken.yaml:1:1: error: YAML tag 'tag:yaml.org,2002:python/object/apply:os.system' is not allowed here",
    ]
    assert not marker.exists()


def test_a_python_object_tag_inside_a_scenario_is_refused_and_nothing_is_run(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    assert diagnose(tiny({2: f'title: !!python/object/apply:os.system ["touch {marker}"]'})) == [
        "broken.yaml:2:8: error: YAML tag 'tag:yaml.org,2002:python/object/apply:os.system' is not allowed here",
    ]
    assert not marker.exists()


def test_a_python_name_tag_is_refused() -> None:
    assert diagnose(tiny({2: "title: !!python/name:os.system"})) == [
        "broken.yaml:2:8: error: YAML tag 'tag:yaml.org,2002:python/name:os.system' is not allowed; "
        "write a plain value",
    ]


def test_a_local_tag_is_refused() -> None:
    assert diagnose(tiny({2: "title: !shout Tiny"})) == [
        "broken.yaml:2:8: error: YAML tag '!shout' is not allowed; write a plain value",
    ]


def test_a_set_tag_is_refused() -> None:
    assert diagnose(tiny({9: "  trust: !!set {a, b}"})) == [
        "broken.yaml:9:10: error: YAML tag 'tag:yaml.org,2002:set' is not allowed here",
    ]


def test_an_explicit_str_tag_is_allowed_and_keeps_the_text() -> None:
    loaded = load_scenario_text(tiny({22: "      - id: !!str no"}), rubric(), "broken.yaml")
    assert loaded.ok and loaded.scenario is not None
    assert [c.id for c in loaded.scenario.nodes["opening"].choices] == ["own-it", "no"]
