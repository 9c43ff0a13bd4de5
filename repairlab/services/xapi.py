"""xAPI 1.0.3 statements for practice attempts, for a learning record store (LRS).

Per completed attempt (the dashboard's population, `analytics.population`):

* ``launched`` the scenario (at the attempt's start);
* one ``answered`` per choice, its object the decision (a ``cmi.interaction``
  of type ``choice`` listing the responses on offer), ``result.response`` the
  choice id, ``result.score`` the choice score (``raw`` 0-100, ``min`` 0,
  ``max`` 100, ``scaled`` = raw / 100), and in ``result.extensions`` the
  per-dimension scores, the zone, the repair strategies and the best score on
  offer;
* ``completed`` the scenario, with the attempt score, ``completion`` true,
  ``success`` true when the ending was *repaired*, the duration, and the
  ending, zone and per-dimension means in ``result.extensions``.

Every statement's ``context`` links it to the attempt and the version played:
``registration`` is a UUID derived from the attempt id (uuid5, so exporting
twice gives the same registration), ``revision`` is the scenario version's
content hash, ``contextActivities.grouping`` names the scenario version as an
activity, and ``context.extensions`` repeat the attempt id, the version hash
and the feedback mode. Statement ids are uuid5 of (attempt, verb, step), so
re-sending an export to an LRS is idempotent.

The actor follows the deployment's identity setting (``REPAIRLAB_XAPI_ACTOR``):
``account`` (default): ``{"account": {"homePage": REPAIRLAB_XAPI_HOMEPAGE,
"name": <public xAPI id>}}`` where the public xAPI id is derived from the
user's public id with SHA-256 (the public id itself is a sign-in token for
guests and never leaves the server); ``mbox``: ``mailto:`` the account's
email (the single sign-on email) where there is one, else the account form.
Trainees whose personal data was deleted are never exported.

Extension IRIs live under ``https://repairlab.example/xapi/extensions/`` (see
`EXT` and docs/analytics.md); they name data, nothing is fetched from them.
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from ..db import Store
from ..db.tables import Attempt, AttemptStep, ScenarioVersion, StepScore, User, as_utc, utcnow
from . import audit
from .access import Viewer, actor
from .analytics import Filters, analyst, population
from .analytics_versions import VERSIONS, VersionCache, VersionInfo

XAPI_VERSION = "1.0.3"
IRI_BASE = "https://repairlab.example/xapi"
EXT = f"{IRI_BASE}/extensions/"
EXTENSIONS = {
    "dimension_scores": EXT + "dimension-scores",
    "dimension_means": EXT + "dimension-means",
    "zone": EXT + "zone",
    "strategies": EXT + "strategies",
    "best_score": EXT + "best-score",
    "ending": EXT + "ending",
    "attempt_id": EXT + "attempt-id",
    "scenario_version": EXT + "scenario-version",
    "mode": EXT + "mode",
}
NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, IRI_BASE)
VERBS = {
    "launched": ("http://adlnet.gov/expapi/verbs/launched", "launched"),
    "answered": ("http://adlnet.gov/expapi/verbs/answered", "answered"),
    "completed": ("http://adlnet.gov/expapi/verbs/completed", "completed"),
}
SIMULATION = "http://adlnet.gov/expapi/activities/simulation"
INTERACTION = "http://adlnet.gov/expapi/activities/cmi.interaction"
VERSION_TYPE = f"{IRI_BASE}/activity-types/scenario-version"
EXPORT_XAPI = "export_xapi"
BATCH = 500


@dataclass(frozen=True)
class XapiSettings:
    home_page: str = "https://repairlab.example"
    actor_ifi: str = "account"  # "account" or "mbox"
    platform: str = "Repair Lab"
    language: str = "en"

    @classmethod
    def from_env(cls) -> XapiSettings:
        ifi = (os.environ.get("REPAIRLAB_XAPI_ACTOR") or "account").strip().lower()
        return cls(
            home_page=(os.environ.get("REPAIRLAB_XAPI_HOMEPAGE") or cls.home_page).rstrip("/"),
            actor_ifi=ifi if ifi in ("account", "mbox") else "account",
        )

    def activity(self, *parts: str) -> str:
        return "/".join([self.home_page, "xapi", *parts])


def registration(attempt_id: str) -> str:
    """The xAPI registration of an attempt: a UUID derived from its id, the same on every export."""
    return str(uuid.uuid5(NAMESPACE, f"attempt:{attempt_id}"))


def statement_id(attempt_id: str, verb: str, step: int | None = None) -> str:
    return str(uuid.uuid5(NAMESPACE, f"{attempt_id}:{verb}:{'' if step is None else step}"))


def public_xapi_id(public_id: str) -> str:
    return hashlib.sha256(f"repairlab-xapi:{public_id}".encode()).hexdigest()[:32]


def _when(moment: datetime | None) -> str:
    return as_utc(moment).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _duration(start: datetime, end: datetime | None) -> str | None:
    if end is None:
        return None
    seconds = max(0.0, (as_utc(end) - as_utc(start)).total_seconds())
    return f"PT{seconds:.0f}S"


def _score(value: float) -> dict:
    raw = round(min(100.0, max(0.0, float(value))), 2)
    return {"scaled": round(raw / 100, 4), "raw": raw, "min": 0, "max": 100}


class XapiService:
    def __init__(
        self, store: Store, settings: XapiSettings | None = None, versions: VersionCache | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.store = store
        self.settings = settings or XapiSettings.from_env()
        self.versions = versions or VERSIONS
        self.clock = clock

    def statements(self, viewer: Viewer | None, filters: Filters) -> Iterator[dict]:
        """Every statement of every completed attempt in scope, attempt by attempt (audited up front)."""
        with self.store.read() as session:
            who = actor(session, viewer)
            if filters.cohort_id is not None:
                analyst(session, viewer, filters)
            where = [*population(who, filters), User.deleted_at.is_(None)]
            users = {
                row.id: row
                for row in session.execute(
                    select(User.id, User.public_id, User.email)
                    .where(User.id.in_(select(Attempt.user_id).join(User, User.id == Attempt.user_id).where(*where)))
                )
            }
            others = sorted(u for u in users if u != who.user_id)
            if others:
                with self.store.write() as writing:
                    now = self.clock()
                    for uid in others:
                        audit.record(writing, who.user_id, EXPORT_XAPI, uid, at=now,
                                     cohort_id=filters.cohort_id, scenario_id=filters.scenario_id)
            query = (
                select(Attempt, ScenarioVersion.title)
                .join(ScenarioVersion, ScenarioVersion.content_hash == Attempt.content_hash)
                .join(User, User.id == Attempt.user_id)
                .where(*where)
                .order_by(Attempt.completed_at, Attempt.id)
                .execution_options(yield_per=BATCH)
            )
            batch: list = []
            for partition in session.execute(query).partitions(BATCH):
                batch = list(partition)
                steps = _steps(session, [a.id for a, _ in batch])
                versions = self.versions.get(session, {a.content_hash for a, _ in batch})
                for attempt, title in batch:
                    yield from self.for_attempt(
                        attempt, title, steps.get(attempt.id, []), versions[attempt.content_hash],
                        users[attempt.user_id],
                    )

    def json_lines(self, viewer: Viewer | None, filters: Filters) -> Iterator[str]:
        """Statements as newline-delimited JSON (one statement per line)."""
        for statement in self.statements(viewer, filters):
            yield json.dumps(statement, ensure_ascii=False, separators=(",", ":")) + "\n"

    def json_array(self, viewer: Viewer | None, filters: Filters) -> bytes:
        """Statements as one JSON array (what an LRS's POST /statements takes), built incrementally."""
        parts = ["["]
        for index, line in enumerate(self.json_lines(viewer, filters)):
            parts.append(("," if index else "") + line)
        parts.append("]")
        return "".join(parts).encode("utf-8")

    # -- one attempt ------------------------------------------------------------------------------

    def agent(self, user) -> dict:  # type: ignore[no-untyped-def]
        if self.settings.actor_ifi == "mbox" and user.email:
            return {"objectType": "Agent", "mbox": f"mailto:{user.email}"}
        return {
            "objectType": "Agent",
            "account": {"homePage": self.settings.home_page, "name": public_xapi_id(user.public_id)},
        }

    def for_attempt(
        self, attempt: Attempt, title: str, steps: list[tuple], version: VersionInfo, user  # type: ignore[no-untyped-def]
    ) -> Iterator[dict]:
        s = self.settings
        scenario = version.scenario
        scenario_activity = {
            "objectType": "Activity",
            "id": s.activity("scenarios", scenario.id),
            "definition": {
                "type": SIMULATION,
                "name": {s.language: title},
                "description": {s.language: " ".join(scenario.mistake.split())},
            },
        }
        version_activity = {
            "objectType": "Activity",
            "id": s.activity("scenarios", scenario.id, "versions", attempt.content_hash),
            "definition": {"type": VERSION_TYPE, "name": {s.language: f"{title} (version {attempt.content_hash[:12]})"}},
        }
        context = {
            "registration": registration(attempt.id),
            "revision": attempt.content_hash,
            "platform": s.platform,
            "language": s.language,
            "contextActivities": {"grouping": [version_activity]},
            "extensions": {
                EXTENSIONS["attempt_id"]: attempt.id,
                EXTENSIONS["scenario_version"]: attempt.content_hash,
                EXTENSIONS["mode"]: attempt.mode,
            },
        }
        agent = self.agent(user)

        def statement(verb: str, obj: dict, when: datetime | None, step: int | None = None, **extra) -> dict:
            iri, display = VERBS[verb]
            out = {
                "id": statement_id(attempt.id, verb, step),
                "actor": agent,
                "verb": {"id": iri, "display": {"en-US": display}},
                "object": obj,
                "context": extra.pop("context", context),
                "timestamp": _when(when),
                "version": XAPI_VERSION,
            }
            out.update(extra)
            return out

        yield statement("launched", scenario_activity, attempt.started_at)
        dims: dict[str, list[int]] = {}
        for step_no, node_id, choice_id, score, best, zone, created_at, values in steps:
            for name, value in values.items():
                dims.setdefault(name, []).append(value)
            node = scenario.nodes.get(node_id)
            offered = node.choices if node and node.choices else []
            definition = {
                "type": INTERACTION,
                "interactionType": "choice",
                "name": {s.language: f"{title}: decision at {node_id}"},
                "choices": [{"id": c.id, "description": {s.language: " ".join(c.text.split())}} for c in offered],
            }
            if node is not None:
                definition["description"] = {s.language: " ".join(node.text.split())}
            if not definition["choices"]:
                del definition["choices"]
            decision = {
                "objectType": "Activity",
                "id": s.activity("scenarios", scenario.id, "decisions", node_id),
                "definition": definition,
            }
            answered_context = {
                **context,
                "contextActivities": {"parent": [scenario_activity], "grouping": [version_activity]},
            }
            yield statement(
                "answered", decision, created_at, step_no,
                context=answered_context,
                result={
                    "response": choice_id,
                    "score": _score(score or 0.0),
                    "extensions": {
                        EXTENSIONS["dimension_scores"]: dict(values),
                        EXTENSIONS["zone"]: zone,
                        EXTENSIONS["strategies"]: list(version.strategies(node_id, choice_id)),
                        EXTENSIONS["best_score"]: None if best is None else round(float(best), 2),
                    },
                },
            )
        result = {
            "score": _score(attempt.score or 0.0),
            "completion": True,
            "success": attempt.ending == "repaired",
            "extensions": {
                EXTENSIONS["ending"]: attempt.ending,
                EXTENSIONS["zone"]: attempt.zone,
                EXTENSIONS["dimension_means"]: {k: round(sum(v) / len(v), 4) for k, v in dims.items()},
            },
        }
        duration = _duration(attempt.started_at, attempt.completed_at)
        if duration:
            result["duration"] = duration
        yield statement("completed", scenario_activity, attempt.completed_at, result=result)


def _steps(session, attempt_ids: list[str]) -> dict[str, list[tuple]]:  # type: ignore[no-untyped-def]
    """Choice steps with their per-dimension scores, for a batch of attempts."""
    if not attempt_ids:
        return {}
    values: dict[tuple[str, int], dict[str, int]] = {}
    for attempt_id, step_no, dim, value in session.execute(
        select(StepScore.attempt_id, StepScore.step_no, StepScore.dimension, StepScore.value).where(
            StepScore.attempt_id.in_(attempt_ids)
        )
    ):
        values.setdefault((attempt_id, step_no), {})[dim] = value
    steps: dict[str, list[tuple]] = {}
    for row in session.execute(
        select(
            AttemptStep.attempt_id, AttemptStep.step_no, AttemptStep.node_id, AttemptStep.choice_id,
            AttemptStep.score, AttemptStep.best_score, AttemptStep.zone, AttemptStep.created_at,
        )
        .where(AttemptStep.attempt_id.in_(attempt_ids), AttemptStep.choice_id.is_not(None))
        .order_by(AttemptStep.attempt_id, AttemptStep.step_no)
    ):
        steps.setdefault(row.attempt_id, []).append(
            (row.step_no, row.node_id, row.choice_id, row.score, row.best_score, row.zone, row.created_at,
             dict(sorted(values.get((row.attempt_id, row.step_no), {}).items())))
        )
    return steps
