"""The authoring workspace: check a draft scenario, preview it, publish it.

No Streamlit here: the view (`ui/authoring_view.py`) and the tests call this.

* `check(text)` validates a pasted or uploaded YAML draft against the
  library's rubric exactly as the library loader does, adds the workspace's
  size and content limits as located errors, and returns the Graphviz DOT
  graph, the coverage figures (`engine.stats.scenario_stats`) and, when the id
  already exists, what publishing would change.
* `publish(text, user, replace)` stores the YAML in `published_scenarios`,
  where the catalog picks it up on every replica. A file with errors (limits
  included) is refused, and so is an id that already exists in the folder or
  among published scenarios unless the author explicitly asked to publish "a
  new version of" it (`replace=True`). Nothing is ever overwritten: each
  publication is a new row, and attempts keep the exact version they started
  on (`scenario_versions`, keyed by content hash).
* `start_preview(text, mode, user)` plays an unpublished draft through the
  ordinary practice flow: the draft's version is stored like any other and
  the attempt belongs to one dedicated, disabled "Preview" user (role
  `preview`) that nobody can sign in as. Trainees' histories are per user, so
  previews never show there; statistics leave them out with
  `excluding_previews()` (or by counting trainees only).

`authoring_allowed(user, settings)` is the one rule for who may use the
workspace; docs/authoring.md explains the design.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from engine import Diagnostic, Rubric, Scenario, Severity, content_hash, load_scenario_text
from engine.graph import to_dot
from engine.stats import PathStats, ScenarioStats, scenario_stats
from engine.yaml_source import MAX_FILE_BYTES, Position, parse_yaml

from ..config import PROJECT_ROOT, Settings
from ..db import Store
from ..db.tables import Attempt, User, as_utc
from ..db.tables_authoring import PublishedScenario
from .catalog import Catalog, CatalogEntry
from .errors import Conflict, Forbidden, NotFound, UserFacingError
from .practice import MODES, AttemptState, PracticeService, new_token

# -- limits (docs/authoring.md) -------------------------------------------------------------

MAX_SOURCE_BYTES = 200 * 1024
MAX_NODES = 500
MAX_CHOICES_PER_NODE = 12
MAX_NODE_ID = 64  # attempt_steps.node_id is VARCHAR(64)
MAX_NOTE = 500
# Longest text allowed per field, in characters (the engine itself allows 20,000 for any prose).
TEXT_LIMITS: dict[str, int] = {
    "summary": 5_000,
    "mistake": 1_000,
    "objective": 500,
    "node text": 5_000,
    "cue": 1_000,
    "debrief": 5_000,
    "choice text": 2_000,
    "feedback": 3_000,
}
MAX_OBJECTIVES = 20
MAX_TAGS = 20
MAX_VARIABLES = 20

STARTER_TEMPLATE = PROJECT_ROOT / "docs" / "starter-template.yaml"
SCENARIO_SCHEMA = PROJECT_ROOT / "engine" / "schema" / "scenario.v1.schema.json"
SCHEMA_FILE_NAME = SCENARIO_SCHEMA.name
SCHEMA_LINE = "# yaml-language-server: $schema="

PREVIEW_ROLE = "preview"
PREVIEW_PUBLIC_ID = "repairlab-preview-attempts"
PREVIEW_NAME = "Preview"
AUTHOR_ROLES = ("supervisor", "admin")
DRAFT_NAME = "draft.yaml"


def authoring_allowed(user: Any, settings: Settings) -> bool:
    """Who may use the authoring workspace (check, preview, publish).

    Supervisors and admins with an account always may. Everyone else only
    while the deployment opens the workspace to all (`REPAIRLAB_AUTHORING`),
    which is how a single-machine install without accounts uses it. `user` is
    anything with `role` and `is_guest` (a `UserRef` or an `Account`), or None.
    """
    if user is not None and not getattr(user, "is_guest", True) and getattr(user, "role", None) in AUTHOR_ROLES:
        return True
    return bool(settings.authoring_enabled)


def starter_template() -> str:
    """The starter template as downloaded: its schema line points to the schema saved beside it."""
    lines = STARTER_TEMPLATE.read_text(encoding="utf-8").splitlines(keepends=True)
    if lines and lines[0].startswith(SCHEMA_LINE):
        lines[0] = f"{SCHEMA_LINE}{SCHEMA_FILE_NAME}\n"
    return "".join(lines)


def scenario_schema_text() -> str:
    """The JSON Schema of the scenario format, for editors' autocompletion."""
    return SCENARIO_SCHEMA.read_text(encoding="utf-8")


def read_upload(raw: bytes) -> tuple[str, str | None]:
    """An uploaded file as text, or why it cannot be read (not UTF-8, far too large)."""
    return _decode(raw)


def excluding_previews(user_id_column: ColumnElement[int]) -> ColumnElement[bool]:
    """A WHERE condition that leaves out preview attempts (for statistics over attempts)."""
    return user_id_column.not_in(select(User.id).where(User.role == PREVIEW_ROLE))


# -- results --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExistingScenario:
    """What the library holds now under a draft's id."""

    scenario_id: str
    origin: str  # "folder" or "published"
    scenario: Scenario | None  # None: only a version that does not validate
    content_hash: str | None  # of the version served now (None: nothing served)
    published_versions: int  # how many versions of this id were published (0: folder only)
    path: Path | None

    @property
    def described(self) -> str:
        if self.origin == "published":
            return f"published version {self.published_versions}"
        return f"the library file {self.path.name}" if self.path else "a library file"


@dataclass(frozen=True)
class Change:
    """One line of "what publishing would change"; `before` is empty for lists of differences."""

    what: str
    before: str
    after: str
    changed: bool


@dataclass
class CheckResult:
    text: str
    display_path: str
    diagnostics: list[Diagnostic]
    scenario: Scenario | None  # set only when the draft has no error at all
    rubric: Rubric | None
    dot: str | None = None
    stats: ScenarioStats | None = None
    existing: ExistingScenario | None = None
    changes: list[Change] = field(default_factory=list)
    content_hash: str | None = None
    draft: Scenario | None = None  # the parsed draft, also when only a limit is exceeded

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.is_error]

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if not d.is_error]

    @property
    def ok(self) -> bool:
        return self.scenario is not None and not self.errors

    @property
    def identical_to_existing(self) -> bool:
        return self.existing is not None and self.content_hash == self.existing.content_hash

    def excerpts(self, limit: int = 20) -> str:
        """Each problem (the first `limit`) with the lines around it and a caret under its column."""
        blocks = [f"{d}\n{excerpt(self.text, d.line, d.column)}" for d in self.diagnostics[:limit]]
        if len(self.diagnostics) > limit:
            blocks.append(f"... and {len(self.diagnostics) - limit} more (see the table)")
        return "\n\n".join(blocks)

    def diagnostic_rows(self) -> list[dict[str, Any]]:
        return [
            {"Line": d.line, "Column": d.column, "Severity": d.severity.value, "Message": d.message}
            for d in self.diagnostics
        ]

    def coverage_rows(self) -> list[dict[str, Any]]:
        """One row per decision: choices per zone, the zones it lacks, the strategies it uses."""
        if self.stats is None or self.rubric is None:
            return []
        rubric = self.rubric
        rows = []
        for decision in self.stats.decisions:
            row: dict[str, Any] = {"Decision": decision.node, "Choices": decision.choices}
            for zone_id, count in decision.zones.items():
                row[rubric.zone_label(zone_id)] = count
            row["Missing zones"] = ", ".join(rubric.zone_label(z) for z in decision.missing_zones) or "none"
            row["Strategies"] = ", ".join(_strategies_at(self, decision.node)) or "none"
            rows.append(row)
        return rows

    def summary_rows(self) -> list[dict[str, str]]:
        """The scenario's shape and paths as (What, Value) rows."""
        if self.stats is None or self.rubric is None:
            return []
        stats, rubric = self.stats, self.rubric
        used = stats.strategies
        unused = [label for sid, label in rubric.strategies.items() if not used.get(sid)]
        decisions = len(stats.decisions)
        rows = [
            ("Nodes", f"{stats.nodes} ({decisions} decision points)"),
            ("Choices", str(sum(d.choices for d in stats.decisions))),
            ("Decisions missing a zone", str(sum(1 for d in stats.decisions if d.missing_zones))),
            ("Playable paths (as trainees can play)", _paths(stats.playable)),
            ("Decisions per playable path", _lengths(stats.playable)),
            ("Playable paths by ending", ", ".join(f"{k}: {v:,}" for k, v in stats.playable.endings.items()) or "none"),
            ("Structural paths (ignoring conditions)", _paths(stats.structural)),
            ("Strategies used (choices)", ", ".join(f"{rubric.strategies.get(s, s)} ({n})" for s, n in used.most_common())
             or "none"),
            ("Strategies never used", ", ".join(unused) or "none"),
        ]
        return [{"What": what, "Value": value} for what, value in rows]

    @property
    def coverage_warnings(self) -> list[str]:
        return list(self.stats.warnings) if self.stats is not None else []


def excerpt(text: str, line: int, column: int, around: int = 1) -> str:
    """Compiler-style context: the numbered lines around `line`, a caret under `column`."""
    lines = text.splitlines()
    if not lines or not 1 <= line <= len(lines):
        return ""
    first, last = max(1, line - around), min(len(lines), line + around)
    width = len(str(last))
    shown = []
    for number in range(first, last + 1):
        content = lines[number - 1]
        shown.append(f"{number:>{width}} | {content[:160]}{'...' if len(content) > 160 else ''}")
        if number == line:
            shown.append(f"{'':>{width}} | {' ' * min(max(column - 1, 0), 160)}^")
    return "\n".join(shown)


def _strategies_at(result: CheckResult, node_id: str) -> list[str]:
    node = result.draft.nodes.get(node_id) if result.draft is not None else None
    return sorted({s for choice in (node.choices if node else None) or [] for s in choice.strategies})


def _paths(stats: PathStats) -> str:
    text = f"{stats.paths:,}" + ("+" if stats.truncated else "")
    return text + (" (some paths loop)" if stats.looped else "")


def _lengths(stats: PathStats) -> str:
    if stats.min_decisions is None:
        return "-"
    if stats.min_decisions == stats.max_decisions:
        return str(stats.min_decisions)
    return f"{stats.min_decisions}-{stats.max_decisions}"


@dataclass(frozen=True)
class PublishedRecord:
    id: int
    scenario_id: str
    version_no: int
    title: str
    content_hash: str
    published_at: datetime
    published_by: str | None  # display name; None before accounts or for a removed user
    note: str | None
    replaced_hash: str | None
    newest: bool  # the newest version of its id: the one the catalog serves (if it still validates)


class PublishRefused(UserFacingError):
    """The file cannot be published as it is (errors, limits, nothing changed)."""


class ReplaceRequired(Conflict):
    """The id exists: the author must confirm publishing a new version of it."""

    def __init__(self, message: str, existing: ExistingScenario, changes: list[Change]) -> None:
        super().__init__(message)
        self.existing = existing
        self.changes = changes


# -- the service ----------------------------------------------------------------------------


class AuthoringService:
    def __init__(self, store: Store, catalog: Catalog, practice: PracticeService, settings: Settings) -> None:
        self.store = store
        self.catalog = catalog
        self.practice = practice
        self.settings = settings
        self._preview_user_id: int | None = None

    # -- checking ----------------------------------------------------------------------------

    def check(self, raw: str | bytes, display_path: str = DRAFT_NAME) -> CheckResult:
        """Validate a draft; never raises for bad input (every problem is a located diagnostic)."""
        display_path = _display_name(display_path)
        rubric = self.catalog.rubric
        text, problem = _decode(raw)
        if problem is not None:
            return CheckResult(
                "", display_path, [Diagnostic(display_path, 1, 1, Severity.ERROR, problem)], None, rubric
            )
        loaded = load_scenario_text(text, rubric, display_path)
        diagnostics = sorted(set(loaded.diagnostics) | set(_limit_problems(text, display_path)))
        valid = loaded.scenario if loaded.ok and not any(d.is_error for d in diagnostics) else None
        result = CheckResult(text, display_path, diagnostics, valid, rubric)
        shown = loaded.scenario  # also when only a limit is exceeded: the graph and coverage still help
        if shown is not None and rubric is not None:
            result.draft = shown
            result.dot = to_dot(shown)
            result.stats = scenario_stats(shown, rubric)
            result.content_hash = content_hash(shown, rubric)
            result.existing = self.existing(shown.id)
            if result.existing is not None and result.existing.scenario is not None:
                result.changes = compare(result.existing.scenario, shown)
        return result

    def existing(self, scenario_id: str) -> ExistingScenario | None:
        """What the library holds under this id now, if anything."""
        with self.store.read() as session:
            versions = session.scalar(
                select(func.count(PublishedScenario.id)).where(PublishedScenario.scenario_id == scenario_id)
            ) or 0
        try:
            entry = self.catalog.entry(scenario_id)
        except NotFound:
            entry = None
        if entry is not None:
            origin = "published" if entry.published_version is not None else "folder"
            return ExistingScenario(scenario_id, origin, entry.scenario, entry.content_hash, versions, entry.path)
        if versions:  # published, but the newest version no longer validates
            return ExistingScenario(scenario_id, "published", None, None, versions, None)
        for scenario_file in self.catalog.library().files:  # a folder file that no longer validates
            if scenario_file.path.stem == scenario_id:
                return ExistingScenario(scenario_id, "folder", None, None, 0, scenario_file.path)
        return None

    def source_of(self, scenario_id: str) -> str:
        """The YAML of the version the library serves under this id, to start a draft from."""
        entry = self.catalog.entry(scenario_id)
        if entry.published_version is not None:
            with self.store.read() as session:
                source = session.scalar(
                    select(PublishedScenario.source).where(
                        PublishedScenario.scenario_id == scenario_id,
                        PublishedScenario.version_no == entry.published_version,
                    )
                )
            if source is None:  # pragma: no cover - rows are never deleted
                raise NotFound(f"The published source of '{scenario_id}' is missing.")
            return source
        if entry.path is None:  # pragma: no cover - folder entries always have a path
            raise NotFound(f"There is no source file for '{scenario_id}'.")
        text, problem = _decode(entry.path.read_bytes())
        if problem is not None:  # pragma: no cover - it validated, so it was readable
            raise UserFacingError(f"{entry.path.name}: {problem}")
        return text

    # -- publishing -------------------------------------------------------------------------

    def publish(
        self,
        raw: str | bytes,
        user: Any,
        replace: bool = False,
        note: str | None = None,
        expected_current: str | None = None,
    ) -> PublishedRecord:
        """Publish a draft as a new version; see the module docstring for the rules.

        `expected_current` is the content hash of the version the author saw
        when confirming a replacement: if another version was published in
        between, this is refused rather than replacing something unseen.
        """
        note = " ".join((note or "").split()) or None
        if note is not None and len(note) > MAX_NOTE:
            raise PublishRefused(f"The note can be at most {MAX_NOTE} characters; yours has {len(note)}.")
        publisher_id = self._check_author(user, "publish scenarios")
        result = self.check(raw)
        if not result.ok or result.scenario is None or result.rubric is None:
            raise PublishRefused(_refusal(result, "published"))
        scenario, rubric = result.scenario, result.rubric
        existing = result.existing
        if existing is not None:
            if result.identical_to_existing:
                raise PublishRefused(
                    f"This is identical to the version of '{scenario.id}' the library already serves; "
                    "there is nothing new to publish."
                )
            if not replace:
                raise ReplaceRequired(
                    f"A scenario with the id '{scenario.id}' already exists ({existing.described}). "
                    f"Publishing would replace it for trainees: confirm that this is a new version of "
                    f"'{scenario.id}', or change the id to publish a separate scenario.",
                    existing,
                    result.changes,
                )
            if expected_current is not None and existing.content_hash != expected_current:
                raise Conflict(
                    f"'{scenario.id}' changed since you checked it (another version was published). "
                    "Check again and review the changes before publishing."
                )
        # Store the exact version first, as the practice flow does (idempotent).
        version_hash = self.catalog.ensure_stored(CatalogEntry(scenario, rubric, result.content_hash or "", None))
        seen_versions = existing.published_versions if existing is not None else 0
        try:
            with self.store.write() as session:
                latest = session.scalar(
                    select(func.max(PublishedScenario.version_no)).where(PublishedScenario.scenario_id == scenario.id)
                ) or 0
                if latest != seen_versions:
                    raise Conflict(
                        f"Someone published '{scenario.id}' a moment ago. Check again and review the changes."
                    )
                row = PublishedScenario(
                    scenario_id=scenario.id,
                    version_no=latest + 1,
                    content_hash=version_hash,
                    title=scenario.title,
                    source=result.text,
                    replaced_hash=existing.content_hash if existing is not None else None,
                    published_by=publisher_id,
                    note=note,
                )
                session.add(row)
                session.flush()
                record = _record(row, _name_of(session, publisher_id), newest=True)
        except IntegrityError:  # the same (id, version) inserted by a concurrent publish
            raise Conflict(
                f"Someone published '{scenario.id}' at the same moment. Check again and review the changes."
            ) from None
        self.catalog.expire()  # this process serves the new version at once
        return record

    def list_published(self, scenario_id: str | None = None) -> list[PublishedRecord]:
        """Every published version, newest first (optionally of one id only)."""
        newest = (
            select(PublishedScenario.scenario_id, func.max(PublishedScenario.version_no).label("version_no"))
            .group_by(PublishedScenario.scenario_id)
            .subquery()
        )
        query = (
            select(PublishedScenario, User.display_name, newest.c.version_no)
            .outerjoin(User, User.id == PublishedScenario.published_by)
            .join(newest, newest.c.scenario_id == PublishedScenario.scenario_id)
            .order_by(PublishedScenario.id.desc())
        )
        if scenario_id is not None:
            query = query.where(PublishedScenario.scenario_id == scenario_id)
        with self.store.read() as session:
            return [
                _record(row, name, newest=row.version_no == newest_no)
                for row, name, newest_no in session.execute(query)
            ]

    # -- previews ---------------------------------------------------------------------------

    def start_preview(self, raw: str | bytes, mode: str = "coached", user: Any = None) -> AttemptState:
        """Start playing an unpublished draft as a trainee would, without touching the library."""
        if mode not in MODES:
            raise UserFacingError(f"Unknown feedback mode '{mode}'; choose coached or assessment.")
        self._check_author(user, "preview scenarios")
        result = self.check(raw)
        if not result.ok or result.scenario is None or result.rubric is None:
            raise UserFacingError(_refusal(result, "previewed"))
        entry = CatalogEntry(result.scenario, result.rubric, result.content_hash or "", None)
        version_hash = self.catalog.ensure_stored(entry)
        preview_user = self.preview_user_id()
        attempt_id = new_token()
        with self.store.write() as session:
            session.add(
                Attempt(
                    id=attempt_id,
                    user_id=preview_user,
                    content_hash=version_hash,
                    scenario_id=result.scenario.id,
                    mode=mode,
                    status="in_progress",
                )
            )
        return self.practice.load(attempt_id, preview_user)

    def load_preview(self, attempt_id: str) -> AttemptState:
        """A preview attempt by id (anyone's real attempt is refused as not found)."""
        try:
            return self.practice.load(attempt_id, self.preview_user_id())
        except Forbidden:
            raise NotFound("That is not a preview attempt.") from None

    def preview_user_id(self) -> int:
        """The dedicated user that owns every preview attempt (created on first use)."""
        if self._preview_user_id is not None:
            return self._preview_user_id
        for _ in range(2):
            with self.store.read() as session:
                found = session.scalar(select(User.id).where(User.public_id == PREVIEW_PUBLIC_ID))
            if found is not None:
                self._preview_user_id = found
                return found
            try:
                with self.store.write() as session:
                    user = User(
                        public_id=PREVIEW_PUBLIC_ID,
                        display_name=PREVIEW_NAME,
                        is_guest=False,  # never adopted as a browser's guest identity by the play page
                        role=PREVIEW_ROLE,
                        disabled=True,  # no password, no identity provider: nobody can sign in as it
                    )
                    session.add(user)
                    session.flush()
                    created = user.id
                self._preview_user_id = created
                return created
            except IntegrityError:
                continue  # another process created it at the same moment: read it
        raise Conflict("The preview could not be set up; please try again.")  # pragma: no cover

    # -- helpers ----------------------------------------------------------------------------

    def _check_author(self, user: Any, doing: str) -> int | None:
        """The author's user id (None when nobody is signed in), after the permission check.

        The role is re-read from the database, so a role taken away since sign-in counts at once.
        """
        user_id = getattr(user, "id", None)
        current = None
        if user_id is not None:
            with self.store.read() as session:
                row = session.get(User, user_id)
                if row is not None and row.deleted_at is None and not row.disabled:
                    current = _Person(row.role, row.is_guest)
                else:
                    user_id = None
        if not authoring_allowed(current, self.settings):
            raise Forbidden(f"Only supervisors and administrators can {doing}.")
        return user_id


@dataclass(frozen=True)
class _Person:
    role: str
    is_guest: bool


# -- comparing two versions -------------------------------------------------------------------


def compare(old: Scenario, new: Scenario) -> list[Change]:
    """What replacing `old` with `new` changes, for the author's confirmation."""

    def count(scenario: Scenario, kind: str) -> int:
        return sum(1 for node in scenario.nodes.values() if node.kind == kind)

    def choices(scenario: Scenario) -> set[tuple[str, str]]:
        return {(node_id, c.id) for node_id, node in scenario.nodes.items() for c in node.choices or []}

    def endings(scenario: Scenario) -> str:
        tally = Counter(node.ending for node in scenario.nodes.values() if node.ending)
        return ", ".join(f"{kind}: {n}" for kind, n in sorted(tally.items())) or "none"

    def pair(what: str, before: str, after: str) -> Change:
        return Change(what, before, after, before != after)

    def differences(what: str, items: list[str], limit: int = 8) -> Change:
        shown = ", ".join(items[:limit]) + (f" and {len(items) - limit} more" if len(items) > limit else "")
        return Change(what, "", shown or "none", bool(items))

    old_nodes, new_nodes = set(old.nodes), set(new.nodes)
    kept = sorted(old_nodes & new_nodes)
    rewritten = [
        n for n in kept
        if (old.nodes[n].text, old.nodes[n].cue, old.nodes[n].debrief)
        != (new.nodes[n].text, new.nodes[n].cue, new.nodes[n].debrief)
    ]
    edited = sorted(
        f"{node_id}/{after.id}"
        for node_id in kept
        for after in new.nodes[node_id].choices or []
        for before in old.nodes[node_id].choices or []
        if before.id == after.id and before != after
    )
    old_choices, new_choices = choices(old), choices(new)
    return [
        pair("Title", old.title, new.title),
        pair("Client", old.client, new.client),
        pair("Difficulty", old.difficulty, new.difficulty),
        pair("Rupture type", old.rupture, new.rupture),
        pair("Start node", old.start, new.start),
        pair("Nodes", str(len(old.nodes)), str(len(new.nodes))),
        pair("Decision points", str(count(old, "decision")), str(count(new, "decision"))),
        pair("Choices", str(len(old_choices)), str(len(new_choices))),
        pair("Endings", endings(old), endings(new)),
        differences("Nodes added", sorted(new_nodes - old_nodes)),
        differences("Nodes removed", sorted(old_nodes - new_nodes)),
        differences("Nodes with new text, cue or debrief", rewritten),
        differences("Choices added", sorted(f"{n}/{c}" for n, c in new_choices - old_choices)),
        differences("Choices removed", sorted(f"{n}/{c}" for n, c in old_choices - new_choices)),
        differences("Choices edited (text, scores, feedback, conditions or routing)", edited),
        pair("Summary", _short(old.summary), _short(new.summary)),
        pair("The mistake", _short(old.mistake), _short(new.mistake)),
        pair("Objectives", " / ".join(old.objectives) or "none", " / ".join(new.objectives) or "none"),
        pair("Tags", ", ".join(old.tags) or "none", ", ".join(new.tags) or "none"),
        pair("Variables", _variables(old), _variables(new)),
    ]


def _variables(scenario: Scenario) -> str:
    return ", ".join(f"{name} = {value}" for name, value in scenario.variables.items()) or "none"


# -- limits -----------------------------------------------------------------------------------


def _limit_problems(text: str, display_path: str) -> list[Diagnostic]:
    """The workspace's size and content limits, located like any other error."""
    found: list[Diagnostic] = []
    size = len(text.encode("utf-8"))
    if size > MAX_SOURCE_BYTES:
        found.append(Diagnostic(
            display_path, 1, 1, Severity.ERROR,
            f"the file is {size / 1024:,.0f} KB ({size:,} bytes); published scenarios are limited to "
            f"{MAX_SOURCE_BYTES // 1024} KB ({MAX_SOURCE_BYTES:,} bytes): split it into shorter scenarios",
        ))
    parsed = parse_yaml(text)
    data, source = parsed.data, parsed.source
    if not isinstance(data, dict):
        return found

    def error(position: Position, message: str) -> None:
        found.append(Diagnostic(display_path, position.line, position.column, Severity.ERROR, message))

    def text_field(path: tuple, value: Any, kind: str) -> None:
        limit = TEXT_LIMITS[kind]
        if isinstance(value, str) and len(value) > limit:
            error(source.value_at(path), f"this {kind} is {len(value):,} characters long; the limit is {limit:,}")

    def counted(path: tuple, value: Any, limit: int, what: str) -> None:
        if isinstance(value, (list, dict)) and len(value) > limit:
            error(source.key_at(path), f"{len(value)} {what}; a scenario can have at most {limit}")

    text_field(("summary",), data.get("summary"), "summary")
    text_field(("mistake",), data.get("mistake"), "mistake")
    objectives = data.get("objectives")
    counted(("objectives",), objectives, MAX_OBJECTIVES, "objectives")
    if isinstance(objectives, list):
        for index, objective in enumerate(objectives):
            text_field(("objectives", index), objective, "objective")
    counted(("tags",), data.get("tags"), MAX_TAGS, "tags")
    counted(("variables",), data.get("variables"), MAX_VARIABLES, "variables")
    nodes = data.get("nodes")
    if not isinstance(nodes, dict):
        return found
    if len(nodes) > MAX_NODES:
        error(source.key_at(("nodes",)), f"{len(nodes):,} nodes; a scenario can have at most {MAX_NODES}")
    for node_id, node in nodes.items():
        base = ("nodes", node_id)
        if isinstance(node_id, str) and len(node_id) > MAX_NODE_ID:
            error(source.key_at(base), f"node id '{node_id[:24]}...' is {len(node_id)} characters; the limit is {MAX_NODE_ID}")
        if not isinstance(node, dict):
            continue
        text_field((*base, "text"), node.get("text"), "node text")
        text_field((*base, "cue"), node.get("cue"), "cue")
        text_field((*base, "debrief"), node.get("debrief"), "debrief")
        choices = node.get("choices")
        if not isinstance(choices, list):
            continue
        if len(choices) > MAX_CHOICES_PER_NODE:
            error(
                source.key_at((*base, "choices")),
                f"decision point '{node_id}' has {len(choices)} choices; the limit is {MAX_CHOICES_PER_NODE}",
            )
        for index, choice in enumerate(choices):
            if isinstance(choice, dict):
                text_field((*base, "choices", index, "text"), choice.get("text"), "choice text")
                text_field((*base, "choices", index, "feedback"), choice.get("feedback"), "feedback")
    return found


def _decode(raw: str | bytes) -> tuple[str, str | None]:
    """The draft as text, or a reason it is not readable text."""
    if isinstance(raw, str):
        return raw.removeprefix("\ufeff"), None
    if len(raw) > MAX_FILE_BYTES:  # far beyond the limit: do not even decode it
        return "", (
            f"the file is {len(raw) / 1024:,.0f} KB; published scenarios are limited to {MAX_SOURCE_BYTES // 1024} KB"
        )
    try:
        return raw.decode("utf-8-sig"), None
    except UnicodeDecodeError as error:
        return "", f"the file is not UTF-8 text (byte {error.start + 1:,} cannot be read): save it as UTF-8"


def _display_name(name: str | None) -> str:
    return Path(name or DRAFT_NAME).name[:80] or DRAFT_NAME


def _refusal(result: CheckResult, done: str) -> str:
    errors = result.errors
    if not errors:  # pragma: no cover - a result that is not ok has errors
        return f"This draft cannot be {done}: it is not a valid scenario."
    shown = "; ".join(f"line {d.line}, column {d.column}: {d.message}" for d in errors[:3])
    more = f" (and {len(errors) - 3} more)" if len(errors) > 3 else ""
    noun = "an error" if len(errors) == 1 else f"{len(errors)} errors"
    return f"This draft has {noun} and cannot be {done}. Fix and check again: {shown}{more}."


def _short(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _name_of(session: Session, user_id: int | None) -> str | None:
    if user_id is None:
        return None
    user = session.get(User, user_id)
    return user.display_name if user is not None else None


def _record(row: PublishedScenario, name: str | None, newest: bool) -> PublishedRecord:
    return PublishedRecord(
        id=row.id,
        scenario_id=row.scenario_id,
        version_no=row.version_no,
        title=row.title,
        content_hash=row.content_hash,
        published_at=as_utc(row.published_at),
        published_by=name,
        note=row.note,
        replaced_hash=row.replaced_hash,
        newest=newest,
    )


__all__ = [
    "AuthoringService",
    "Change",
    "CheckResult",
    "ExistingScenario",
    "MAX_CHOICES_PER_NODE",
    "MAX_NODES",
    "MAX_SOURCE_BYTES",
    "PREVIEW_ROLE",
    "PublishRefused",
    "PublishedRecord",
    "ReplaceRequired",
    "authoring_allowed",
    "compare",
    "excluding_previews",
]
