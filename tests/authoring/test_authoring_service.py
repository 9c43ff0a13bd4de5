"""The authoring service: checking drafts, publishing versions, previews (on SQLite and PostgreSQL)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import select

from engine import load_scenario_text
from repairlab.db import Store
from repairlab.db.tables import Attempt, ScenarioVersion, User
from repairlab.db.tables_authoring import PublishedScenario
from repairlab.services.access import Viewer
from repairlab.services.authoring import (
    MAX_CHOICES_PER_NODE,
    MAX_NODES,
    PREVIEW_ROLE,
    AuthoringService,
    PublishRefused,
    ReplaceRequired,
    authoring_allowed,
    excluding_previews,
    read_upload,
    scenario_schema_text,
    starter_template,
)
from repairlab.services.catalog import Catalog
from repairlab.services.errors import Conflict, Forbidden
from repairlab.services.practice import PracticeService, UserRef
from repairlab.services.records import RecordsService

from .conftest import ROOT

EXAMPLE = "example-late-start"
DRAFT = "my-new-scenario"


def line_of(text: str, needle: str) -> tuple[int, int]:
    """1-based line and column where `needle` first occurs in `text`."""
    for number, line in enumerate(text.splitlines(), start=1):
        if needle in line:
            return number, line.index(needle) + 1
    raise AssertionError(f"{needle!r} not in text")


def with_new_id(text: str, new_id: str) -> str:
    return re.sub(r"(?m)^id: .*$", f"id: {new_id}", text, count=1)


def make_user(store: Store, name: str, role: str, is_guest: bool = False) -> UserRef:
    with store.write() as session:
        user = User(public_id=f"pub-{name.lower()}", display_name=name, is_guest=is_guest, role=role)
        session.add(user)
        session.flush()
        return UserRef(user.id, user.public_id, user.display_name, user.is_guest, user.role)


def play_best(practice: PracticeService, attempt_id: str, user_id: int) -> None:
    """Play an attempt to its end, always taking the best-scoring offered choice."""
    state = practice.load(attempt_id, user_id)
    while not state.finished:
        if state.play.kind == "narration":
            state = practice.proceed(attempt_id, state.play.step, user_id)
        else:
            best = max(state.offered_choices(), key=lambda c: state.rubric.score(c.scores))
            state = practice.choose(attempt_id, state.play.step, best.id, user_id)


# -- checking ------------------------------------------------------------------------------------


def test_check_reports_the_exact_line_and_column_of_an_error_in_pasted_text(
    authoring: AuthoringService, example_text: str
) -> None:
    broken = example_text.replace(
        "scores: {accountability: 3, self_focus: 4, exploration: 1}",
        "scores: {accountability: 3, self_focus: 9, exploration: 1}",
    )
    result = authoring.check(broken)

    line, column = line_of(broken, "self_focus: 9")
    assert not result.ok
    [error] = result.errors
    assert (error.line, error.column) == (line, column + len("self_focus: "))
    assert "score 9 for 'self_focus' is outside its range 0-4" in error.message
    assert result.diagnostic_rows()[0] == {
        "Line": line, "Column": column + len("self_focus: "), "Severity": "error", "Message": error.message
    }
    assert str(error).startswith(f"draft.yaml:{line}:")


def test_check_reports_a_yaml_syntax_error_at_its_line_with_the_uploaded_file_name(
    authoring: AuthoringService, example_text: str
) -> None:
    broken = example_text.replace("title: The late start", "title: The late: start")
    result = authoring.check(broken.encode("utf-8"), "uploads/my file.yaml")

    assert not result.ok and result.dot is None
    line, column = line_of(broken, "late: start")
    assert [(d.path, d.line, d.column) for d in result.errors] == [("my file.yaml", line, column + len("late"))]
    assert "YAML syntax error: mapping values are not allowed" in result.errors[0].message


def test_an_upload_that_is_not_utf8_text_is_reported_instead_of_crashing(authoring: AuthoringService) -> None:
    text, problem = read_upload(b"id: caf\xe9\n")
    assert text == "" and problem is not None and "not UTF-8" in problem
    result = authoring.check(b"id: caf\xe9\n")
    assert not result.ok and "not UTF-8" in result.errors[0].message


def test_check_of_a_valid_draft_gives_the_graph_and_the_coverage_table(
    authoring: AuthoringService, draft_text: str
) -> None:
    result = authoring.check(draft_text)

    assert result.ok and result.diagnostics == []
    assert result.existing is None and result.changes == []
    assert result.dot is not None and result.dot.startswith(f'digraph "{DRAFT}"')
    assert '"opening" -> "softens" [label="own-it"]' in result.dot
    coverage = {row["Decision"]: row for row in result.coverage_rows()}
    assert set(coverage) == {"opening", "second-chance"}
    for row in coverage.values():
        assert row["Missing zones"] == "none"
        assert [row[z] for z in ("Balanced repair", "Over-apology", "Defensive", "Dismissive")] == [1, 1, 1, 1]
    assert coverage["opening"]["Strategies"] == "acknowledge, give-rationale, invite-exploration, redirect"
    summary = {row["What"]: row["Value"] for row in result.summary_rows()}
    assert summary["Playable paths (as trainees can play)"] == "16"
    assert summary["Playable paths by ending"] == "partial: 6, repaired: 2, unrepaired: 8"
    assert summary["Decisions missing a zone"] == "0"


def test_check_flags_a_decision_that_offers_no_choice_in_some_zone(
    authoring: AuthoringService, draft_text: str
) -> None:
    # Make the over-apology choice at the opening a balanced one.
    lopsided = draft_text.replace(
        "scores: {accountability: 3, self_focus: 4, exploration: 0}",
        "scores: {accountability: 3, self_focus: 1, exploration: 0}",
    )
    result = authoring.check(lopsided)

    assert result.ok  # thin coverage is a warning for the author, not an error
    opening = next(row for row in result.coverage_rows() if row["Decision"] == "opening")
    assert opening["Missing zones"] == "Over-apology"
    assert opening["Balanced repair"] == 2
    assert any("offers no choice in: Over-apology" in w for w in result.coverage_warnings)


# -- limits and errors --------------------------------------------------------------------------


def test_publish_refuses_a_draft_with_errors_and_says_where(
    authoring: AuthoringService, draft_text: str, store: Store
) -> None:
    broken = draft_text.replace("next: softens", "next: sofftens")
    line, _ = line_of(broken, "next: sofftens")

    with pytest.raises(PublishRefused) as refused:
        authoring.publish(broken, None)

    message = str(refused.value)
    assert message.startswith("This draft has an error and cannot be published.")
    assert f"line {line}, column" in message and "unknown node 'sofftens'" in message
    with store.read() as session:
        assert session.scalars(select(PublishedScenario)).all() == []


def test_publish_refuses_a_file_over_the_size_limit_with_a_clear_message(
    authoring: AuthoringService, draft_text: str
) -> None:
    padded = draft_text + "".join(f"# padding {i:05d} {'x' * 90}\n" for i in range(2_200))
    assert len(padded.encode()) > 200 * 1024

    with pytest.raises(PublishRefused) as refused:
        authoring.publish(padded, None)

    message = str(refused.value)
    assert "line 1, column 1" in message
    assert "published scenarios are limited to 200 KB (204,800 bytes)" in message


def test_publish_refuses_too_many_choices_at_a_decision_and_points_at_them(
    authoring: AuthoringService, draft_text: str
) -> None:
    extra = "".join(
        f"      - id: extra-{n}\n"
        f"        text: Extra response {n}.\n"
        f"        scores: {{accountability: 0, self_focus: 0, exploration: 0}}\n"
        f"        feedback: Filler.\n"
        f"        next: bristles\n"
        for n in range(MAX_CHOICES_PER_NODE)
    )
    crowded = draft_text.replace("  # A narration node:", extra.rstrip("\n") + "\n\n  # A narration node:", 1)
    result = authoring.check(crowded)
    [error] = result.errors
    assert error.message == (
        f"decision point 'opening' has {MAX_CHOICES_PER_NODE + 4} choices; the limit is {MAX_CHOICES_PER_NODE}"
    )
    assert error.line == line_of(crowded, "    choices:")[0]
    with pytest.raises(PublishRefused, match="has 16 choices; the limit is 12"):
        authoring.publish(crowded, None)


def test_publish_refuses_a_scenario_with_too_many_nodes(authoring: AuthoringService, draft_text: str) -> None:
    chain = "".join(
        f"  filler-{n}:\n    text: Filler {n}.\n    next: {'filler-' + str(n + 1) if n + 1 < MAX_NODES else 'end-partial'}\n"
        for n in range(MAX_NODES)
    )
    big = draft_text.replace("  # A narration node:", chain + "\n  # A narration node:", 1)
    big = big.replace("next: second-chance\n\n  softens:", "next: filler-0\n\n  softens:", 1)

    with pytest.raises(PublishRefused, match=f"{MAX_NODES + 7} nodes; a scenario can have at most {MAX_NODES}"):
        authoring.publish(big, None)


def test_publish_refuses_an_over_long_text_field_and_points_at_it(
    authoring: AuthoringService, draft_text: str
) -> None:
    long_feedback = "Too long. " * 400  # 4,000 characters; feedback is limited to 3,000
    wordy = draft_text.replace(
        "feedback: Premature reassurance closes the topic.", f"feedback: {long_feedback.strip()} Premature", 1
    )
    result = authoring.check(wordy)
    [error] = result.errors
    assert error.line == line_of(wordy, "feedback: Too long.")[0]
    assert "this feedback is 4,0" in error.message and "the limit is 3,000" in error.message
    with pytest.raises(PublishRefused, match="the limit is 3,000"):
        authoring.publish(wordy, None)


# -- publishing ----------------------------------------------------------------------------------


def test_a_published_scenario_appears_in_the_catalog_entries_of_every_replica(
    authoring: AuthoringService, draft_text: str, catalog: Catalog, store: Store, library_dir: Path, reopen
) -> None:
    other_replica = Catalog(reopen(store), library_dir)
    assert DRAFT not in {e.scenario.id for e in other_replica.entries()}

    record = authoring.publish(draft_text, None, note="  first   cut ")

    assert (record.scenario_id, record.version_no, record.note, record.published_by) == (DRAFT, 1, "first cut", None)
    for served in (catalog, other_replica):
        entry = served.entry(DRAFT)
        assert entry.published_version == 1 and entry.path is None
        assert entry.content_hash == record.content_hash
        assert DRAFT in {e.scenario.id for e in served.entries()}
        assert EXAMPLE in {e.scenario.id for e in served.entries()}
    assert not (library_dir / f"{DRAFT}.yaml").exists()  # the folder is never written
    with store.read() as session:  # the exact version is stored for attempts, like any other
        assert session.get(ScenarioVersion, record.content_hash) is not None


def test_trainees_can_play_a_published_scenario_like_any_other(
    authoring: AuthoringService, draft_text: str, practice: PracticeService, trainee: UserRef
) -> None:
    authoring.publish(draft_text, None)
    state = practice.start(trainee.id, DRAFT, "coached")
    play_best(practice, state.id, trainee.id)
    done = practice.load(state.id, trainee.id)
    assert done.finished and done.play.ending == "repaired"
    assert [h.scenario_id for h in practice.history(trainee.id)] == [DRAFT]


def test_publishing_an_existing_id_without_replace_is_refused_and_says_what_would_change(
    authoring: AuthoringService, example_text: str, catalog: Catalog, store: Store
) -> None:
    edited = example_text.replace("title: The late start", "title: The late start, revised")
    before = catalog.entry(EXAMPLE).content_hash

    with pytest.raises(ReplaceRequired) as refused:
        authoring.publish(edited, None)

    message = str(refused.value)
    assert "A scenario with the id 'example-late-start' already exists (the library file" in message
    assert "confirm that this is a new version of 'example-late-start'" in message
    changed = {c.what: (c.before, c.after) for c in refused.value.changes if c.changed}
    assert changed == {"Title": ("The late start", "The late start, revised")}
    assert catalog.entry(EXAMPLE).content_hash == before
    with store.read() as session:
        assert session.scalars(select(PublishedScenario)).all() == []


def test_publishing_a_published_id_again_without_replace_is_refused_too(
    authoring: AuthoringService, draft_text: str
) -> None:
    authoring.publish(draft_text, None)
    edited = draft_text.replace("title: The wrong name", "title: The wrong name, again")

    with pytest.raises(ReplaceRequired, match=r"already exists \(published version 1\)"):
        authoring.publish(edited, None)


def test_replacing_creates_a_new_version_while_an_attempt_started_on_the_old_one_replays_and_scores_on_it(
    authoring: AuthoringService,
    example_text: str,
    catalog: Catalog,
    practice: PracticeService,
    trainee: UserRef,
) -> None:
    old_hash = catalog.entry(EXAMPLE).content_hash
    old_attempt = practice.start(trainee.id, EXAMPLE, "coached")
    # The new version scores the same choice differently and rewrites the opening.
    new_text = example_text.replace(
        "scores: {accountability: 4, self_focus: 0, exploration: 4}",
        "scores: {accountability: 2, self_focus: 0, exploration: 2}",
    ).replace("It's fine. I don't really have much", "Whatever. I don't have much")

    record = authoring.publish(new_text, None, replace=True, expected_current=old_hash)

    assert record.version_no == 1 and record.replaced_hash == old_hash
    new_entry = catalog.entry(EXAMPLE)
    assert new_entry.content_hash == record.content_hash != old_hash
    assert new_entry.published_version == 1
    # The old attempt continues on the old version: its text and its scores.
    state = practice.choose(old_attempt.id, 0, "own-it", trainee.id)
    assert state.content_hash == old_hash
    assert "It's fine." in state.scenario.nodes["opening"].text
    assert state.play.outcomes[0].score == pytest.approx(100.0)
    assert practice.load(old_attempt.id, trainee.id).play.outcomes[0].scores["accountability"] == 4
    # A new attempt plays the new version.
    fresh = practice.start(trainee.id, EXAMPLE, "coached")
    assert fresh.content_hash == record.content_hash
    fresh = practice.choose(fresh.id, 0, "own-it", trainee.id)
    assert fresh.play.outcomes[0].score < 100.0
    assert [h.title for h in practice.history(trainee.id)] == ["The late start", "The late start"]


def test_each_publication_is_a_new_version_listed_newest_first_with_who_published_it(
    authoring: AuthoringService, draft_text: str, store: Store
) -> None:
    supervisor = make_user(store, "Sam", "supervisor")
    authoring.publish(draft_text, supervisor, note="first")
    second = draft_text.replace("title: The wrong name", "title: The wrong name (v2)")
    authoring.publish(second, supervisor, replace=True, note="retitled")

    listed = authoring.list_published()
    assert [(p.version_no, p.title, p.published_by, p.note, p.newest) for p in listed] == [
        (2, "The wrong name (v2)", "Sam", "retitled", True),
        (1, "The wrong name", "Sam", "first", False),
    ]
    assert authoring.catalog.entry(DRAFT).scenario.title == "The wrong name (v2)"
    assert authoring.source_of(DRAFT) == second
    with store.read() as session:
        assert {row.published_by for row in session.scalars(select(PublishedScenario))} == {supervisor.id}


def test_publishing_the_version_already_served_is_refused_as_nothing_new(
    authoring: AuthoringService, example_text: str
) -> None:
    with pytest.raises(PublishRefused, match="identical to the version of 'example-late-start'"):
        authoring.publish(example_text, None, replace=True)


def test_a_replacement_is_refused_when_another_version_was_published_since_the_check(
    authoring: AuthoringService, example_text: str, catalog: Catalog
) -> None:
    seen = authoring.check(example_text.replace("Maya", "Mia")).existing
    assert seen is not None
    authoring.publish(example_text.replace("title: The late start", "title: Late"), None, replace=True)

    with pytest.raises(Conflict, match="changed since you checked it"):
        authoring.publish(example_text.replace("Maya", "Mia"), None, replace=True, expected_current=seen.content_hash)
    assert catalog.entry(EXAMPLE).scenario.title == "Late"


def test_a_published_version_that_no_longer_validates_is_listed_as_broken_and_not_served(
    authoring: AuthoringService, draft_text: str, catalog: Catalog, library_dir: Path
) -> None:
    authoring.publish(draft_text, None)
    rubric = library_dir / "rubric.yaml"
    # The library's rubric drops a strategy the published scenario uses.
    rubric.write_text(rubric.read_text().replace("  give-rationale: Give a rationale for a task or goal\n", ""))

    assert DRAFT not in {e.scenario.id for e in catalog.entries()}
    broken = {f.path.name: f for f in catalog.broken_files()}  # the folder's example uses it too
    assert set(broken) == {f"{EXAMPLE}.yaml", f"published:{DRAFT}:v1"}
    assert "unknown strategy 'give-rationale'" in str(broken[f"published:{DRAFT}:v1"].diagnostics[0])


# -- who may author -------------------------------------------------------------------------------


def test_only_supervisors_and_admins_may_publish_or_preview_when_the_setting_is_off(
    authoring_closed: AuthoringService, draft_text: str, store: Store, trainee: UserRef
) -> None:
    settings = authoring_closed.settings
    supervisor = make_user(store, "Sup", "supervisor")
    admin = make_user(store, "Ada", "admin")
    assert not authoring_allowed(None, settings)
    assert not authoring_allowed(trainee, settings)
    assert authoring_allowed(supervisor, settings) and authoring_allowed(admin, settings)
    assert authoring_allowed(None, authoring_closed.settings.__class__(**{**settings.__dict__, "authoring_enabled": True}))

    for who in (None, trainee):
        with pytest.raises(Forbidden, match="Only supervisors and administrators can publish"):
            authoring_closed.publish(draft_text, who)
        with pytest.raises(Forbidden, match="Only supervisors and administrators can preview"):
            authoring_closed.start_preview(draft_text, "coached", who)
    # A guest who merely claims a supervisor role is not trusted: the role is read from the database.
    pretender = UserRef(trainee.id, trainee.public_id, trainee.display_name, False, "supervisor")
    with pytest.raises(Forbidden):
        authoring_closed.publish(draft_text, pretender)
    assert authoring_closed.publish(draft_text, supervisor).published_by == "Sup"


# -- previews ------------------------------------------------------------------------------------


def test_a_preview_plays_an_unpublished_draft_through_the_practice_flow_to_its_debrief(
    authoring: AuthoringService, draft_text: str, practice: PracticeService, catalog: Catalog, store: Store
) -> None:
    state = authoring.start_preview(draft_text, "coached")

    assert state.scenario.id == DRAFT and state.mode == "coached"
    preview_user = authoring.preview_user_id()
    play_best(practice, state.id, preview_user)
    done = authoring.load_preview(state.id)
    assert done.finished and done.play.ending == "repaired"
    # Nothing reached the library, on this replica or any other.
    assert DRAFT not in {e.scenario.id for e in catalog.entries()}
    with store.read() as session:
        assert session.scalars(select(PublishedScenario)).all() == []


def test_preview_attempts_do_not_show_in_trainees_histories_or_records(
    authoring: AuthoringService, draft_text: str, practice: PracticeService, trainee: UserRef, store: Store
) -> None:
    practice.start(trainee.id, EXAMPLE, "coached")
    authoring.start_preview(draft_text, "coached", trainee)  # a trainee trying a draft (setting on)
    authoring.start_preview(draft_text, "assessment", None)

    assert [h.scenario_id for h in practice.history(trainee.id)] == [EXAMPLE]
    admin = make_user(store, "Admin", "admin")
    names = [t.display_name for t in RecordsService(store, practice).list_trainees(Viewer(admin.id, "admin"))]
    assert "Preview" not in names
    with store.read() as session:
        preview = session.scalars(select(User).where(User.role == PREVIEW_ROLE)).one()
        assert (preview.display_name, preview.is_guest, preview.disabled) == ("Preview", False, True)
        counted = session.scalars(select(Attempt.scenario_id).where(excluding_previews(Attempt.user_id))).all()
        assert counted == [EXAMPLE]
        assert len(session.scalars(select(Attempt)).all()) == 3


def test_a_preview_attempt_cannot_be_confused_with_a_real_one(
    authoring: AuthoringService, practice: PracticeService, trainee: UserRef
) -> None:
    real = practice.start(trainee.id, EXAMPLE, "coached")
    with pytest.raises(Exception, match="not a preview attempt"):
        authoring.load_preview(real.id)


def test_a_draft_with_errors_cannot_be_previewed(authoring: AuthoringService, draft_text: str) -> None:
    with pytest.raises(Exception, match="cannot be previewed"):
        authoring.start_preview(draft_text.replace("start: opening", "start: nowhere"), "coached")


# -- the starter template and the schema --------------------------------------------------------


def test_the_starter_template_is_valid_and_offers_every_zone_at_every_decision(
    authoring: AuthoringService, draft_text: str
) -> None:
    assert draft_text.startswith("# yaml-language-server: $schema=../engine/schema/scenario.v1.schema.json\n")
    downloaded = starter_template()
    assert downloaded.startswith("# yaml-language-server: $schema=scenario.v1.schema.json\n")
    assert downloaded.splitlines()[1:] == draft_text.splitlines()[1:]
    result = authoring.check(downloaded)
    assert result.ok and result.diagnostics == []
    assert all(row["Missing zones"] == "none" for row in result.coverage_rows())
    assert load_scenario_text(draft_text, authoring.catalog.rubric, "t.yaml").ok


def test_the_schema_download_is_the_bundled_json_schema() -> None:
    assert scenario_schema_text() == (ROOT / "engine" / "schema" / "scenario.v1.schema.json").read_text()
