"""Every mistake an author can make in a scenario file gets a precise error.

Each test breaks a small valid document (see `engine_support.TINY`, numbered
line by line) and asserts the exact `file:line:col: severity: message` lines
that `python -m engine validate` would print.
"""

from __future__ import annotations

import copy

import pytest
import yaml
from engine_support import TINY, diagnose, tiny

from engine import load_scenario_text


def test_the_tiny_base_document_is_valid() -> None:
    assert diagnose(TINY) == []


# --------------------------------------------------------------------------
# Structure: keys and types
# --------------------------------------------------------------------------


def test_an_unknown_top_level_key_suggests_the_closest_known_key() -> None:
    assert diagnose(tiny({2: "titel: Tiny"})) == [
        "broken.yaml:2:1: error: unknown key 'titel' in '(top level)'; did you mean 'title'?",
    ]


def test_an_unknown_key_in_a_choice_suggests_the_closest_choice_key() -> None:
    assert diagnose(tiny({20: "        feedbak: Owns the lapse."})) == [
        "broken.yaml:20:9: error: unknown key 'feedbak' in 'nodes.opening.choices[0]'; did you mean 'feedback'?",
    ]


def test_an_unknown_key_close_to_nothing_lists_the_valid_keys() -> None:
    assert diagnose(tiny({13: "    text: It's fine.\n    colour: red"})) == [
        "broken.yaml:14:5: error: unknown key 'colour' in 'nodes.opening'; "
        "expected one of 'choices', 'cue', 'debrief', 'ending', 'next', 'text'",
    ]


def test_an_unknown_key_in_a_condition_suggests_min_or_max() -> None:
    assert diagnose(tiny({28: "            when: {trust: {minimum: 1}}"})) == [
        "broken.yaml:28:28: error: unknown key 'minimum' in 'nodes.opening.choices[1].next[0].when.trust'; "
        "did you mean 'min'?",
    ]


def test_a_missing_required_top_level_key_is_named_at_the_start_of_the_document() -> None:
    assert diagnose(tiny({3: None})) == [
        "broken.yaml:1:1: error: missing required key 'client' in '(top level)'",
    ]


def test_a_missing_required_key_in_a_choice_points_at_that_choice() -> None:
    assert diagnose(tiny({25: None})) == [
        "broken.yaml:22:9: error: missing required key 'feedback' in 'nodes.opening.choices[1]'",
    ]


def test_a_misspelt_required_key_is_reported_once_as_unknown_with_a_suggestion() -> None:
    # not also as "missing required key 'feedback'"
    assert diagnose(tiny({25: "        feedbak: Skips past it."})) == [
        "broken.yaml:25:9: error: unknown key 'feedbak' in 'nodes.opening.choices[1]'; did you mean 'feedback'?",
    ]


def test_a_choice_id_written_no_is_read_as_a_boolean_and_the_error_suggests_quoting() -> None:
    assert diagnose(tiny({22: "      - id: no"})) == [
        "broken.yaml:22:13: error: 'nodes.opening.choices[1].id' must be text, got the boolean false "
        "(YAML reads the unquoted 'no' as a boolean; put it in quotes: \"no\")",
    ]


def test_a_quoted_no_is_a_valid_choice_id() -> None:
    assert diagnose(tiny({22: '      - id: "no"'})) == []


def test_a_scenario_id_written_yes_is_read_as_a_boolean() -> None:
    assert diagnose(tiny({1: "id: yes"})) == [
        "broken.yaml:1:5: error: 'id' must be text, got the boolean true "
        "(YAML reads the unquoted 'yes' as a boolean; put it in quotes: \"yes\")",
    ]


def test_a_node_id_written_yes_is_explained_at_the_node_and_at_every_link_to_it() -> None:
    text = tiny({30: "  yes:", 21: '        next: "yes"', 27: '          - to: "yes"'})
    assert diagnose(text) == [
        "broken.yaml:21:15: error: unknown node 'yes': the node written 'yes' at line 30 is not text to YAML; "
        "put its id in quotes there",
        "broken.yaml:27:17: error: unknown node 'yes': the node written 'yes' at line 30 is not text to YAML; "
        "put its id in quotes there",
        "broken.yaml:30:3: error: key the boolean true in 'nodes' must be text "
        "(YAML reads the unquoted 'yes' as a boolean; put it in quotes: \"yes\")",
    ]


def test_a_score_written_as_a_word_must_be_an_integer() -> None:
    assert diagnose(tiny({24: "        scores: {accountability: none, self_focus: 0, exploration: 0}"})) == [
        "broken.yaml:24:34: error: 'nodes.opening.choices[1].scores.accountability' must be an integer, "
        "got the text 'none'",
    ]


def test_a_decimal_score_must_be_an_integer() -> None:
    assert diagnose(tiny({24: "        scores: {accountability: 0.5, self_focus: 0, exploration: 0}"})) == [
        "broken.yaml:24:34: error: 'nodes.opening.choices[1].scores.accountability' must be an integer, "
        "got the float 0.5 (YAML reads the unquoted '0.5' as a number; put it in quotes: \"0.5\")",
    ]


def test_a_variable_with_a_text_value_must_be_an_integer() -> None:
    assert diagnose(tiny({9: "  trust: low"})) == [
        "broken.yaml:9:10: error: 'variables.trust' must be an integer, got the text 'low'",
    ]


def test_a_list_where_a_list_of_tags_is_expected_must_be_a_list() -> None:
    assert diagnose(tiny({7: "summary: A tiny scenario.\ntags: lateness"})) == [
        "broken.yaml:8:7: error: 'tags' must be a list, got the text 'lateness'",
    ]


def test_nodes_written_as_a_number_must_be_a_mapping() -> None:
    text = "\n".join(tiny().splitlines()[:10]) + "\nnodes: 3\n"
    assert diagnose(text) == [
        "broken.yaml:11:8: error: 'nodes' must be a mapping, got the int 3 "
        "(YAML reads the unquoted '3' as an integer; put it in quotes: \"3\")",
    ]


def test_a_next_that_is_a_number_explains_both_accepted_forms() -> None:
    assert diagnose(tiny({21: "        next: 7"})) == [
        "broken.yaml:21:15: error: 'nodes.opening.choices[0].next' must be a node id or a list of routes "
        "({to: node, when: condition}), got the int 7",
    ]


def test_a_next_that_is_a_single_route_mapping_explains_both_accepted_forms() -> None:
    assert diagnose(tiny({21: "        next: {to: good-end}"})) == [
        "broken.yaml:21:15: error: 'nodes.opening.choices[0].next' must be a node id or a list of routes "
        "({to: node, when: condition}), got a mapping",
    ]


@pytest.mark.parametrize(
    ("line", "replacement", "expected"),
    [
        (4, "difficulty: easy",
         "broken.yaml:4:13: error: 'difficulty' cannot be the text 'easy'; "
         "expected 'beginner', 'intermediate' or 'advanced'"),
        (6, "rupture: rage",
         "broken.yaml:6:10: error: 'rupture' cannot be the text 'rage'; expected 'withdrawal' or 'confrontation'"),
        (32, "    ending: fixed",
         "broken.yaml:32:13: error: 'nodes.good-end.ending' cannot be the text 'fixed'; "
         "expected 'repaired', 'partial' or 'unrepaired'"),
    ],
    ids=["difficulty", "rupture", "ending"],
)
def test_a_value_outside_a_fixed_vocabulary_lists_the_allowed_values(line: int, replacement: str, expected: str) -> None:
    assert diagnose(tiny({line: replacement})) == [expected]


def test_an_id_that_is_not_a_slug_is_explained() -> None:
    assert diagnose(tiny({1: "id: Tiny One"})) == [
        "broken.yaml:1:5: error: 'id' is 'Tiny One', which is not a valid id: use lower-case letters, digits "
        "and hyphens, starting with a letter or digit",
    ]


def test_an_empty_title_is_refused() -> None:
    assert diagnose(tiny({2: 'title: ""'})) == ["broken.yaml:2:8: error: 'title' must not be empty"]


def test_a_node_with_both_next_and_ending_is_refused() -> None:
    assert diagnose(tiny({31: "    text: She relaxes.\n    next: bad-end"})) == [
        "broken.yaml:30:3: error: node 'good-end' must have exactly one of 'choices', 'next' or 'ending'; "
        "it has next and ending",
    ]


def test_a_node_with_neither_choices_next_nor_ending_is_refused_once() -> None:
    assert diagnose(tiny({35: None})) == [
        "broken.yaml:33:3: error: node 'bad-end' must have exactly one of 'choices', 'next' or 'ending'; it has none",
    ]


def test_a_debrief_on_a_node_that_is_not_an_ending_is_refused() -> None:
    assert diagnose(tiny({13: "    text: It's fine.\n    debrief: Well done."})) == [
        "broken.yaml:14:5: error: 'debrief' is only allowed on ending nodes; node 'opening' is not an ending",
    ]


# --------------------------------------------------------------------------
# Duplicates
# --------------------------------------------------------------------------


def test_a_duplicate_mapping_key_is_refused_at_the_second_key() -> None:
    assert diagnose(tiny({3: "client: Ann\nclient: Bob"})) == [
        "broken.yaml:4:1: error: duplicate key 'client' (first defined at line 3); "
        "YAML would silently keep only the last one",
    ]


def test_a_duplicate_node_id_is_refused_and_the_first_node_is_kept() -> None:
    assert diagnose(tiny({33: "  good-end:"})) == [
        "broken.yaml:29:17: error: unknown node 'bad-end'; did you mean 'good-end'?",
        "broken.yaml:33:3: error: duplicate key 'good-end' (first defined at line 30); "
        "YAML would silently keep only the last one",
    ]


def test_a_duplicate_choice_id_in_one_node_is_refused() -> None:
    assert diagnose(tiny({22: "      - id: own-it"})) == [
        "broken.yaml:22:13: error: duplicate choice id 'own-it' in node 'opening' (also choice 1)",
    ]


# --------------------------------------------------------------------------
# Links between nodes
# --------------------------------------------------------------------------


def test_an_unknown_node_in_next_suggests_the_closest_node_id() -> None:
    assert diagnose(tiny({21: "        next: good-edn"})) == [
        "broken.yaml:21:15: error: unknown node 'good-edn'; did you mean 'good-end'?",
    ]


def test_an_unknown_start_node_suggests_the_closest_node_id() -> None:
    assert diagnose(tiny({10: "start: openin"})) == [
        "broken.yaml:10:8: error: start names unknown node 'openin'; did you mean 'opening'?",
    ]


def test_an_unknown_node_in_a_route_to_suggests_the_closest_node_id() -> None:
    assert diagnose(tiny({29: "          - to: bda-end"})) == [
        "broken.yaml:29:17: error: unknown node 'bda-end'; did you mean 'bad-end'?",
    ]


def test_an_unknown_node_far_from_any_id_lists_the_node_ids() -> None:
    assert diagnose(tiny({21: "        next: somewhere"})) == [
        "broken.yaml:21:15: error: unknown node 'somewhere'; "
        "expected one of 'bad-end', 'good-end', 'opening'",
    ]


def test_an_unknown_node_in_a_narration_next_is_refused() -> None:
    text = tiny({31: "    text: She relaxes.\n    next: bad-edn", 32: None})
    assert diagnose(text) == [
        "broken.yaml:32:11: error: unknown node 'bad-edn'; did you mean 'bad-end'?",
    ]


def test_the_last_route_must_be_the_unconditional_fallback() -> None:
    assert diagnose(tiny({29: "          - to: bad-end\n            when: {trust: {max: 0}}"})) == [
        "broken.yaml:29:13: error: the last route must have no 'when': it is the fallback taken "
        "when no other route applies",
    ]


def test_a_route_without_when_before_the_last_hides_the_routes_after_it() -> None:
    assert diagnose(tiny({28: None})) == [
        "broken.yaml:27:13: error: route 1 has no 'when', so the routes after it can never be taken",
    ]


def test_an_empty_list_of_routes_is_refused() -> None:
    assert diagnose(tiny({26: "        next: []", 27: None, 28: None, 29: None})) == [
        "broken.yaml:26:15: error: a list of routes must not be empty",
    ]


# --------------------------------------------------------------------------
# Scores and strategies against the rubric
# --------------------------------------------------------------------------


def test_a_score_above_the_dimension_range_is_refused() -> None:
    assert diagnose(tiny({17: "        scores: {accountability: 5, self_focus: 0, exploration: 4}"})) == [
        "broken.yaml:17:34: error: score 5 for 'accountability' is outside its range 0-4",
    ]


def test_a_score_below_the_dimension_range_is_refused() -> None:
    assert diagnose(tiny({17: "        scores: {accountability: 4, self_focus: -1, exploration: 4}"})) == [
        "broken.yaml:17:49: error: score -1 for 'self_focus' is outside its range 0-4",
    ]


def test_a_score_for_an_unknown_dimension_lists_the_rubric_dimensions() -> None:
    text = tiny({17: "        scores: {accountability: 4, self_focus: 0, exploration: 4, curiosity: 2}"})
    assert diagnose(text) == [
        "broken.yaml:17:68: error: unknown rubric dimension 'curiosity'; "
        "expected one of 'accountability', 'exploration', 'self_focus'",
    ]


def test_a_misspelt_dimension_suggests_the_closest_and_is_not_also_reported_missing() -> None:
    assert diagnose(tiny({17: "        scores: {accountability: 4, self_focus: 0, exploraton: 4}"})) == [
        "broken.yaml:17:52: error: unknown rubric dimension 'exploraton'; did you mean 'exploration'?",
    ]


def test_a_choice_without_a_score_for_every_dimension_names_the_missing_one() -> None:
    assert diagnose(tiny({17: "        scores: {accountability: 4, self_focus: 0}"})) == [
        "broken.yaml:17:17: error: choice 'own-it' has no score for 'exploration'; every rubric dimension needs one",
    ]


def test_an_unknown_strategy_suggests_the_closest_strategy() -> None:
    assert diagnose(tiny({18: "        strategies: [acknowledge, invite-explortion]"})) == [
        "broken.yaml:18:35: error: unknown strategy 'invite-explortion'; did you mean 'invite-exploration'?",
    ]


def test_an_unknown_strategy_close_to_nothing_lists_the_rubric_strategies() -> None:
    assert diagnose(tiny({18: "        strategies: [hug]"})) == [
        "broken.yaml:18:22: error: unknown strategy 'hug'; "
        "expected one of 'acknowledge', 'invite-exploration', 'redirect'",
    ]


# --------------------------------------------------------------------------
# Variables and conditions
# --------------------------------------------------------------------------


def test_an_undeclared_variable_in_a_choice_when_suggests_the_declared_one() -> None:
    assert diagnose(tiny({23: "        text: Let's start.\n        when: {trst: {max: 0}}"})) == [
        "broken.yaml:24:16: error: variable 'trst' is not declared under 'variables'; did you mean 'trust'?",
    ]


def test_an_undeclared_variable_in_effects_suggests_the_declared_one() -> None:
    assert diagnose(tiny({19: "        effects: {trusts: 1}"})) == [
        "broken.yaml:19:19: error: variable 'trusts' is not declared under 'variables'; did you mean 'trust'?",
    ]


def test_an_undeclared_variable_in_a_route_when_suggests_the_declared_one() -> None:
    assert diagnose(tiny({28: "            when: {trus: {min: 1}}"})) == [
        "broken.yaml:28:20: error: variable 'trus' is not declared under 'variables'; did you mean 'trust'?",
    ]


def test_a_variable_used_without_any_declared_variables_is_refused() -> None:
    assert diagnose(tiny({8: None, 9: None})) == [
        "broken.yaml:17:19: error: variable 'trust' is not declared under 'variables'",
        "broken.yaml:26:20: error: variable 'trust' is not declared under 'variables'",
    ]


def test_an_empty_condition_is_refused() -> None:
    assert diagnose(tiny({28: "            when: {}"})) == [
        "broken.yaml:28:19: error: 'nodes.opening.choices[1].next[0].when' is an empty condition; "
        "give at least one variable",
    ]


def test_a_bound_with_neither_min_nor_max_is_refused() -> None:
    assert diagnose(tiny({28: "            when: {trust: {}}"})) == [
        "broken.yaml:28:27: error: condition on 'trust' needs min, max or both",
    ]


def test_a_condition_that_can_never_hold_is_refused() -> None:
    assert diagnose(tiny({28: "            when: {trust: {min: 2, max: 1}}"})) == [
        "broken.yaml:28:27: error: condition on 'trust' can never hold: min 2 is greater than max 1",
    ]


def test_a_decision_where_every_choice_is_conditional_is_a_warning() -> None:
    text = tiny({
        16: "        text: I was late.\n        when: {trust: {min: 0}}",
        23: "        text: Let's start.\n        when: {trust: {max: 5}}",
    })
    assert diagnose(text) == [
        "broken.yaml:15:7: warning: every choice at 'opening' has a 'when'; if none holds the trainee is stuck",
    ]


# --------------------------------------------------------------------------
# The shape of the graph
# --------------------------------------------------------------------------


def test_a_decision_point_with_one_choice_is_refused() -> None:
    only_one = {line: None for line in range(22, 30)}
    assert diagnose(tiny(only_one)) == [
        "broken.yaml:15:7: error: decision point 'opening' has 1 choice(s); it needs at least 2",
        "broken.yaml:25:3: warning: node 'bad-end' can never be reached from start 'opening'",
    ]


def test_a_decision_point_with_no_choices_is_refused_once() -> None:
    no_choices = {14: "    choices: []", **{line: None for line in range(15, 30)}}
    assert diagnose(tiny(no_choices)) == [
        "broken.yaml:14:14: error: decision point 'opening' has 0 choice(s); it needs at least 2",
    ]


def test_a_node_from_which_no_ending_can_be_reached_is_an_error() -> None:
    # bad-end now loops onto itself instead of ending
    assert diagnose(tiny({34: "    text: She leaves.\n    next: bad-end", 35: None})) == [
        "broken.yaml:33:3: error: no ending can be reached from node 'bad-end'",
    ]


def test_every_node_of_a_loop_without_an_exit_is_reported() -> None:
    text = tiny({
        34: "    text: She leaves.\n    next: stuck",
        35: "  stuck:\n    text: Round and round.\n    next: bad-end",
    })
    assert diagnose(text) == [
        "broken.yaml:33:3: error: no ending can be reached from node 'bad-end'",
        "broken.yaml:36:3: error: no ending can be reached from node 'stuck'",
    ]


def test_an_unreachable_node_is_a_warning_and_the_scenario_still_loads() -> None:
    text = tiny({35: "    ending: unrepaired\n  spare:\n    text: Never seen.\n    ending: partial"})
    loaded = load_scenario_text(text, _rubric(), "broken.yaml")
    assert [str(d) for d in loaded.diagnostics] == [
        "broken.yaml:36:3: warning: node 'spare' can never be reached from start 'opening'",
    ]
    assert loaded.ok and loaded.scenario is not None


def _rubric():
    from engine_support import rubric

    return rubric()


# --------------------------------------------------------------------------
# Several problems at once
# --------------------------------------------------------------------------


def test_validation_reports_several_problems_in_one_file_at_once() -> None:
    text = tiny({
        2: "titel: Tiny",
        4: "difficulty: easy",
        17: "        scores: {accountability: 5, self_focus: 0, exploration: 4}",
        18: "        strategies: [acknowledge, invite-explortion]",
        19: "        effects: {trusts: 1}",
        21: "        next: good-edn",
        22: "      - id: own-it",
    })
    assert diagnose(text) == [
        "broken.yaml:2:1: error: unknown key 'titel' in '(top level)'; did you mean 'title'?",
        "broken.yaml:4:13: error: 'difficulty' cannot be the text 'easy'; "
        "expected 'beginner', 'intermediate' or 'advanced'",
        "broken.yaml:17:34: error: score 5 for 'accountability' is outside its range 0-4",
        "broken.yaml:18:35: error: unknown strategy 'invite-explortion'; did you mean 'invite-exploration'?",
        "broken.yaml:19:19: error: variable 'trusts' is not declared under 'variables'; did you mean 'trust'?",
        "broken.yaml:21:15: error: unknown node 'good-edn'; did you mean 'good-end'?",
        "broken.yaml:22:13: error: duplicate choice id 'own-it' in node 'opening' (also choice 1)",
    ]


def test_diagnostics_are_sorted_by_line_and_column() -> None:
    text = tiny({29: "          - to: bda-end", 2: "titel: Tiny", 21: "        next: good-edn"})
    found = load_scenario_text(text, _rubric(), "broken.yaml").diagnostics
    assert [(d.line, d.column) for d in found] == sorted((d.line, d.column) for d in found)
    assert len(found) == 3


# --------------------------------------------------------------------------
# No input makes the validator raise
# --------------------------------------------------------------------------

_REPLACEMENTS = [None, 3, -1, 2.5, True, "x", "opening", [], {}, [1], {"a": 1}, [{"to": "x"}], {"min": 1}]


def _paths(data, path=()):
    yield path
    if isinstance(data, dict):
        for key, value in data.items():
            yield from _paths(value, (*path, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from _paths(value, (*path, index))


def _variants(document):
    for path in list(_paths(document)):
        if not path:
            yield from _REPLACEMENTS
            continue
        for replacement in [*_REPLACEMENTS, "<delete>"]:
            changed = copy.deepcopy(document)
            parent = changed
            for part in path[:-1]:
                parent = parent[part]
            if replacement == "<delete>":
                del parent[path[-1]]
            else:
                parent[path[-1]] = replacement
            yield changed


def test_any_value_of_the_wrong_type_anywhere_gives_diagnostics_never_an_exception() -> None:
    document = yaml.safe_load(TINY)
    checked = 0
    for variant in _variants(document):
        text = yaml.safe_dump(variant, sort_keys=False)
        loaded = load_scenario_text(text, _rubric(), "broken.yaml")  # must not raise
        if variant != document:
            assert loaded.diagnostics or loaded.ok, text
        checked += 1
    assert checked > 500
