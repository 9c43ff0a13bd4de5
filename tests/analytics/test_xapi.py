"""xAPI statements: every one validated by an independent implementation (ralph-malph's models)."""

from __future__ import annotations

import json
import uuid

import pytest
from ralph.models.xapi.base.statements import BaseXapiStatement

from repairlab.services.analytics import Filters
from repairlab.services.errors import NotFound
from repairlab.services.xapi import EXT, XapiService, XapiSettings, public_xapi_id, registration

from .conftest import SCENARIO

ANSWERED = "http://adlnet.gov/expapi/verbs/answered"


def statements(program, who: str = "sup_a", settings: XapiSettings | None = None, **filters) -> list[dict]:  # type: ignore[no-untyped-def]
    return list(XapiService(program.store, settings or XapiSettings()).statements(program.viewer(who), Filters(**filters)))


def test_every_exported_statement_is_valid_xapi(program) -> None:
    found = statements(program, "admin")
    assert found
    for statement in found:
        BaseXapiStatement(**statement)  # raises on anything invalid
        json.dumps(statement)  # plain JSON, nothing else


def test_each_attempt_is_launched_answered_per_choice_and_completed(program) -> None:
    found = statements(program, "sup_b")
    by_registration: dict[str, list[str]] = {}
    for statement in found:
        by_registration.setdefault(statement["context"]["registration"], []).append(statement["verb"]["display"]["en-US"])

    b1 = [attempt for who, attempt, *_ in program.attempts if who == "b1"]
    assert set(by_registration) == {registration(a) for a in b1}
    for verbs in by_registration.values():
        assert verbs == ["launched", "answered", "answered", "completed"]


def test_answered_carries_the_choice_score_dimensions_zone_and_strategies(program) -> None:
    answered = [s for s in statements(program, "sup_b") if s["verb"]["id"] == ANSWERED]
    first_own = next(s for s in answered if s["result"]["response"] == "own" and s["object"]["id"].endswith("/first"))

    assert first_own["result"]["score"] == {"scaled": 1.0, "raw": 100.0, "min": 0, "max": 100}
    extensions = first_own["result"]["extensions"]
    assert extensions[EXT + "dimension-scores"] == {"accountability": 4, "exploration": 4, "self_focus": 0}
    assert extensions[EXT + "zone"] == "balanced"
    assert extensions[EXT + "strategies"] == ["acknowledge", "invite-exploration"]
    deny = next(s for s in answered if s["result"]["response"] == "deny")
    assert deny["result"]["score"]["raw"] == pytest.approx(17.08, abs=0.01)
    assert deny["result"]["score"]["scaled"] == pytest.approx(deny["result"]["score"]["raw"] / 100, abs=1e-4)
    definition = first_own["object"]["definition"]
    assert definition["interactionType"] == "choice"
    assert [c["id"] for c in definition["choices"]] == ["own", "grovel", "deny"]


def test_context_links_each_statement_to_the_attempt_and_scenario_version(program) -> None:
    found = statements(program, "sup_b")
    attempt = next(a for who, a, *_ in program.attempts if who == "b1")
    mine = [s for s in found if s["context"]["extensions"][EXT + "attempt-id"] == attempt]

    assert len(mine) == 4
    version = mine[0]["context"]["revision"]
    assert len(version) == 64
    for statement in mine:
        context = statement["context"]
        assert context["registration"] == registration(attempt)
        assert uuid.UUID(context["registration"]).version == 5
        assert context["extensions"][EXT + "scenario-version"] == version
        assert context["contextActivities"]["grouping"][0]["id"].endswith(f"/scenarios/{SCENARIO}/versions/{version}")
    completed = mine[-1]
    assert completed["result"]["completion"] is True and completed["result"]["success"] is True
    assert completed["result"]["duration"] == "PT3600S"


def test_registrations_and_statement_ids_are_the_same_on_every_export(program) -> None:
    first = statements(program, "admin")
    second = statements(program, "admin")
    assert [s["id"] for s in first] == [s["id"] for s in second]
    assert len({s["id"] for s in first}) == len(first)


def test_the_actor_is_an_account_by_default_and_mbox_when_configured(program) -> None:
    account = statements(program, "sup_b")[0]["actor"]
    assert account == {"objectType": "Agent",
                       "account": {"homePage": "https://repairlab.example", "name": public_xapi_id("pub-b1")}}
    assert "pub-b1" not in json.dumps(statements(program, "sup_b"))  # the public id is a sign-in secret for guests

    mailed = statements(program, "sup_b", XapiSettings(home_page="https://lms.example.edu", actor_ifi="mbox"))
    assert mailed[0]["actor"] == {"objectType": "Agent", "mbox": "mailto:b1@example.org"}
    for statement in mailed:
        BaseXapiStatement(**statement)
        assert statement["object"]["id"].startswith("https://lms.example.edu/xapi/")


def test_deleted_trainees_and_other_cohorts_are_never_exported(program) -> None:
    found = statements(program, "sup_a")
    names = {s["actor"]["account"]["name"] for s in found}
    assert names == {public_xapi_id(f"pub-{k}") for k in ("a1", "a2", "a3")}
    with pytest.raises(NotFound):
        statements(program, "sup_b", cohort_id=program.cohorts["A"])


def test_the_json_array_is_what_an_lrs_accepts(program) -> None:
    data = XapiService(program.store, XapiSettings()).json_array(program.viewer("sup_b"), Filters())
    parsed = json.loads(data)
    assert isinstance(parsed, list) and len(parsed) == 8
    for statement in parsed:
        BaseXapiStatement(**statement)
