"""The cohort dashboard, for supervisors (their cohorts) and administrators (every cohort).

Every number comes from `AnalyticsService`, which scopes each query to what
the signed-in viewer may see; this page only draws. Each chart has its alt
text as a caption, its table (shown with "Show tables") and a CSV download;
clicking a trainee's point opens that attempt's debrief on the play page.

Caching: the aggregated data is cached with `st.cache_data` keyed by (viewer,
filters, names, data version) for `CACHE_TTL` seconds, the data version
being a cheap query that changes with any new attempt, reflection,
enrolment or deletion. The plotly figures built from it are cached with
`st.cache_resource` under the same key, because unpickling figures costs
more than building them (measured: 0.4 s against 5 ms for the data); they
are never mutated after they are built, and are `FrozenFigure`s, whose dict
form (which `st.plotly_chart` asks for on every rerun) is made only once.
The viewer's right to see the page is checked again on every rerun before
anything cached is shown.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from repairlab.charts import Chart
from repairlab.charts import cohort as charts
from repairlab.services.access import Viewer
from repairlab.services.analytics import AnalyticsService, Dashboard, Filters
from repairlab.services.errors import UserFacingError
from repairlab.services.exports import ExportService
from repairlab.services.xapi import XapiService

from . import navigation
from .context import current_user, get_services

CACHE_TTL = 60  # seconds
GRAIN_LABELS = {"month": "Months", "week": "Weeks"}
PLOT_CONFIG = {"displaylogo": False, "modeBarButtonsToRemove": ["select2d", "lasso2d"]}


# -- who is looking ---------------------------------------------------------------------------------


def current_viewer() -> Viewer | None:
    """The signed-in person: `ui.context.current_viewer()` once the accounts UI provides it."""
    from . import context

    provided: Callable[[], Viewer | None] | None = getattr(context, "current_viewer", None)
    if provided is not None:
        return provided()
    user = current_user()
    return None if user is None else Viewer(user.id, user.role)


# -- cached data and charts -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Board:
    data: Dashboard
    scores: Chart
    growth: Chart
    zones: Chart
    radar: Chart
    strategies: Chart
    heatmap: Chart | None
    sankey: Chart | None
    scenario_table: pd.DataFrame  # the "Scenarios, hardest first" table, as shown


def _filters_key(filters: Filters) -> tuple:
    return (filters.cohort_id, filters.scenario_id, filters.start, filters.end, filters.grain)


@st.cache_data(ttl=CACHE_TTL, max_entries=64, show_spinner=False)
def _dashboard(user_id: int, role: str, key: tuple, pseudonymous: bool, version: tuple) -> Dashboard:
    analytics = get_services().analytics
    return analytics.dashboard(Viewer(user_id, role), Filters(*key), pseudonymous, version)


@st.cache_resource(ttl=CACHE_TTL, max_entries=32, show_spinner=False)
def _board(user_id: int, role: str, key: tuple, pseudonymous: bool, version: tuple) -> Board:
    return build_board(_dashboard(user_id, role, key, pseudonymous, version))


def build_board(data: Dashboard) -> Board:
    grain = data.filters.grain
    scenario = data.scenario_title
    return Board(
        data=data,
        scores=frozen(charts.scores_over_time_chart(data.trainee_periods, data.cohort_periods, grain)),
        growth=frozen(charts.growth_chart(data.growth)),
        zones=frozen(charts.zone_distribution_chart(data.zone_periods, data.zones, grain)),
        radar=frozen(charts.dimension_radar(data.dimensions)),
        strategies=frozen(charts.strategy_chart(data.strategies)),
        heatmap=frozen(charts.choice_heatmap(data.choices, f"Responses chosen in “{scenario}”")) if scenario else None,
        sankey=frozen(charts.path_sankey(data.transitions, f"Paths through “{scenario}”")) if scenario else None,
        scenario_table=scenario_table(data.scenarios),
    )


def scenario_table(scenarios: pd.DataFrame) -> pd.DataFrame:
    return scenarios.assign(repaired_share=(scenarios["repaired_share"] * 100).round(0)).rename(
        columns={"scenario_id": "Scenario id", "title": "Scenario", "attempts": "Attempts", "trainees": "Trainees",
                 "mean_score": "Mean score", "repaired_share": "Repaired (%)"}
    )


class FrozenFigure(go.Figure):
    """A figure that is not changed after it is built, whose dict form is therefore made once.

    `st.plotly_chart` turns the figure into a dict (`to_dict`, a deep copy of every trace and of
    the template) and then into JSON on *every* rerun; for the dashboard's five figures the copy
    alone cost about 15 ms per rerun, cached or not. The cached dict is shared: `to_dict` hands out
    a new outer dict and new trace dicts (Streamlit pops each trace's ``uid``), never modified
    inner values. Mutating a frozen figure afterwards is not supported (its dict would be stale).
    """

    def to_dict(self) -> dict:
        made = self.__dict__.get("_frozen_dict")
        if made is None:
            made = super().to_dict()
            for trace in made.get("data", []):
                trace.pop("uid", None)
            self._frozen_dict = made
        return {**made, "data": [dict(trace) for trace in made.get("data", [])]}


def frozen(chart: Chart) -> Chart:
    """The same chart, its figure turned into a `FrozenFigure` in place (no copy)."""
    chart.figure.__class__ = FrozenFigure
    return chart


# -- the page -------------------------------------------------------------------------------------


def render(viewer: Viewer | None = None) -> None:
    st.title("Cohort dashboard")
    viewer = viewer or current_viewer()
    if viewer is None:
        st.info("Please sign in as a supervisor or an administrator to see cohort dashboards.")
        return
    services = get_services()
    analytics, exports, xapi = services.analytics, services.exports, services.xapi
    try:
        analytics.check(viewer)
        version = analytics.data_version()
        cohorts = _cohorts(viewer.user_id, viewer.role, version)
    except UserFacingError as error:
        st.info(str(error))
        return
    if not cohorts:
        st.info(
            "There are no cohorts yet." if viewer.role == "admin"
            else "You do not supervise a cohort yet. An administrator can add you to one."
        )
        return

    filters, pseudonymous, show_tables = _filter_bar(viewer, cohorts, version)
    if filters is None:
        return
    try:
        if filters.cohort_id is not None:  # the viewer was checked above; now the cohort
            analytics.check(viewer, filters)
        board = _board(viewer.user_id, viewer.role, _filters_key(filters), pseudonymous, version)
    except UserFacingError as error:
        st.error(str(error))
        return
    data = board.data

    summary = data.summary
    columns = st.columns(5)
    columns[0].metric("Trainees", f"{summary['trainees']:,}")
    columns[1].metric("Completed attempts", f"{summary['attempts']:,}")
    columns[2].metric("Responses", f"{summary['choices']:,}")
    columns[3].metric("Mean score", "n/a" if summary["mean_score"] is None else f"{summary['mean_score']:.0f} / 100")
    columns[4].metric("In progress", f"{summary['in_progress']:,}")
    if not summary["attempts"]:
        st.info("No completed attempts match these filters yet.")

    st.subheader("Scores over time")
    show_chart(board.scores, "scores", show_tables, clickable=True)
    st.subheader("Growth of each trainee")
    show_chart(board.growth, "growth", show_tables, clickable=True)
    st.subheader("Zones over time")
    show_chart(board.zones, "zones", show_tables)
    st.subheader("Rubric dimensions")
    show_chart(board.radar, "radar", show_tables)
    st.subheader("Repair strategies")
    show_chart(board.strategies, "strategies", show_tables)

    st.subheader("Scenarios, hardest first")
    table = board.scenario_table
    st.dataframe(
        table,
        hide_index=True,
        column_config={
            "Mean score": st.column_config.NumberColumn(format="%.1f"),
            "Repaired (%)": st.column_config.ProgressColumn(min_value=0, max_value=100, format="%.0f%%"),
        },
    )
    _csv_button(lambda: table.to_csv(index=False), "scenarios.csv", "scenarios")

    if board.heatmap is not None and board.sankey is not None:
        st.subheader(f"One scenario: {data.scenario_title}")
        show_chart(board.heatmap, "heatmap", show_tables)
        show_chart(board.sankey, "sankey", show_tables)
    else:
        st.caption("Choose one scenario above to see which response was chosen at each decision and the paths taken.")

    _reflections(analytics, viewer, filters)
    _exports(exports, xapi, viewer, filters, pseudonymous)


@st.cache_data(ttl=CACHE_TTL, max_entries=64, show_spinner=False)
def _cohorts(user_id: int, role: str, version: tuple) -> list:
    return get_services().analytics.cohorts(Viewer(user_id, role))


@st.cache_data(ttl=CACHE_TTL, max_entries=64, show_spinner=False)
def _scenarios(user_id: int, role: str, cohort_id: int | None, version: tuple) -> list[tuple[str, str]]:
    return get_services().analytics.scenarios(Viewer(user_id, role), Filters(cohort_id=cohort_id), version)


def _filter_bar(viewer: Viewer, cohorts: list, version: tuple) -> tuple[Filters | None, bool, bool]:
    with st.container(border=True):
        first, second, third = st.columns([2, 2, 2])
        cohort_options = [None] + [c.id for c in cohorts]
        names = {c.id: f"{c.name} ({c.trainees} trainees)" for c in cohorts}
        cohort_id = first.selectbox(
            "Cohort", cohort_options, format_func=lambda c: "All cohorts you can see" if c is None else names[c],
            key="dash_cohort",
        )
        scenarios = _scenarios(viewer.user_id, viewer.role, cohort_id, version)
        titles = dict(scenarios)
        scenario_id = second.selectbox(
            "Scenario", [None] + [s for s, _ in scenarios],
            format_func=lambda s: "All scenarios" if s is None else titles[s], key="dash_scenario",
        )
        span = third.date_input("Completed between", value=(), key="dash_dates", help="Leave empty for all dates.")
        fourth, fifth, sixth = st.columns([2, 2, 2])
        grain = fourth.radio("Periods", list(GRAIN_LABELS), format_func=GRAIN_LABELS.get, horizontal=True,
                             key="dash_grain")
        pseudonymous = fifth.toggle("Show pseudonyms instead of names", key="dash_pseudonyms",
                                    help="For a projector or a shared screen.")
        show_tables = sixth.toggle("Show tables under the charts", key="dash_tables")
    start, end = _dates(span)
    try:
        return Filters(cohort_id, scenario_id, start, end, grain), pseudonymous, show_tables
    except UserFacingError as error:
        st.warning(str(error))
        return None, pseudonymous, show_tables


def _dates(span: object) -> tuple[date | None, date | None]:
    if isinstance(span, date):
        return span, span
    values = list(span or ())  # type: ignore[call-overload]
    if not values:
        return None, None
    return values[0], values[-1]


# -- one chart --------------------------------------------------------------------------------------


def show_chart(chart: Chart, key: str, show_table: bool = False, clickable: bool = False) -> None:
    """The chart with its alt text, table (optional) and CSV download; clicks open a debrief."""
    event = st.plotly_chart(
        chart.figure,
        key=f"chart_{key}",
        alt=chart.alt,
        config=PLOT_CONFIG,
        on_select="rerun" if clickable else "ignore",
        selection_mode="points",
    )
    st.caption(chart.alt)
    if show_table:
        st.dataframe(chart.table, hide_index=True)
    _csv_button(lambda: chart.table.to_csv(index=False), f"{key}.csv", key)
    if clickable:
        chosen = attempt_ids(event)
        if chosen:
            open_attempt(chosen[0])


def _csv_button(make: Callable[[], str], file_name: str, key: str) -> None:
    st.download_button(
        "Download this as CSV", data=lambda: make().encode("utf-8"), file_name=file_name, mime="text/csv",
        key=f"csv_{key}", on_click="ignore", icon=":material/download:",
    )


def attempt_ids(event: object) -> list[str]:
    """Attempt ids in a plotly selection event (points whose customdata is an attempt id)."""
    try:
        points = event["selection"]["points"]  # type: ignore[index]
    except (KeyError, TypeError, AttributeError):
        return []
    found = []
    for point in points or []:
        value = point.get("customdata")
        if isinstance(value, list | tuple):
            value = value[0] if value else None
        if isinstance(value, str) and value:
            found.append(value)
    return found


def open_attempt(attempt_id: str) -> None:
    """Go to the play page, which shows a finished attempt's debrief (the router may not list it yet)."""
    if "play" in navigation.PAGES:
        navigation.go("play", attempt=attempt_id)
    else:
        st.markdown(f"[Open this attempt's debrief](play?attempt={attempt_id})")


# -- reflections and exports --------------------------------------------------------------------------


def _reflections(analytics: AnalyticsService, viewer: Viewer, filters: Filters) -> None:
    if viewer.role != "supervisor":
        return
    st.subheader("Trainees' reflections")
    st.caption("Opening the reflections is recorded in the audit log, as any look at a trainee's records is.")
    if not st.toggle("Show the newest reflections", key="dash_reflections"):
        return
    try:
        found = analytics.reflections(viewer, filters)
    except UserFacingError as error:
        st.error(str(error))
        return
    if not found:
        st.info("No reflections match these filters.")
        return
    for item in found:
        with st.container(border=True):
            score = "" if item.score is None else f" · score {item.score:.0f}"
            when = "" if item.written_at is None else f" · {item.written_at:%Y-%m-%d}"
            st.markdown(f"**{_md(item.trainee)}** on *{_md(item.title)}*{when}{score}")
            st.text(item.text)


def _md(text: str) -> str:
    """Names typed by people, shown literally inside markdown."""
    return "".join("\\" + ch if ch in "\\`*_{}[]()#+-.!|<>~" else ch for ch in text)


def _exports(exports: ExportService, xapi: XapiService, viewer: Viewer, filters: Filters, pseudonymous: bool) -> None:
    st.subheader("Exports")
    who = "pseudonyms" if pseudonymous else "names and usernames"
    st.caption(
        f"Everything matching the filters above, with trainees' {who}. Each export is recorded in the audit log. "
        "Columns and the xAPI format are described in docs/analytics.md."
    )
    left, middle, right = st.columns(3)
    with left:
        st.download_button(
            "One row per response (CSV)", data=lambda: exports.choice_csv(viewer, filters, pseudonymous),
            file_name="repairlab-responses.csv", mime="text/csv", key="export_choices", on_click="ignore",
            icon=":material/table_view:",
        )
    with middle:
        st.download_button(
            "One row per attempt (CSV)", data=lambda: exports.attempt_csv(viewer, filters, pseudonymous),
            file_name="repairlab-attempts.csv", mime="text/csv", key="export_attempts", on_click="ignore",
            icon=":material/table_rows:",
        )
    with right:
        st.download_button(
            "xAPI statements (JSON)", data=lambda: xapi.json_array(viewer, filters),
            file_name="repairlab-xapi.json", mime="application/json", key="export_xapi", on_click="ignore",
            icon=":material/data_object:",
        )
