"""The group charts (pure builders) and the join link / QR code helpers."""

from __future__ import annotations

import io
from pathlib import Path

import plotly.graph_objects as go
import pytest

from engine import Playthrough, load_library
from repairlab.charts.group import distribution_chart, group_balance_chart, zone_counts_chart
from repairlab.services.group_links import is_loopback, join_url, public_base_url, qr_png, qr_svg
from repairlab.services.group_scoring import group_debrief, tally

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def example():
    library = load_library(ROOT / "scenarios")
    return library.scenarios["lisa-interrupted"], library.rubric


def first_decision(scenario, rubric) -> Playthrough:
    play = Playthrough.start(scenario, rubric)
    play.proceed_through_narration()
    return play


def test_the_distribution_chart_prints_letters_zones_counts_and_shares(example):
    scenario, rubric = example
    play = first_decision(scenario, rubric)
    ids = [c.id for c in play.offered_choices()]
    counted = tally(play, [ids[0], ids[0], ids[1]])
    chart = distribution_chart(counted, [z.label for z in rubric.zones.values()])
    go.Figure(chart.figure.to_dict())  # full plotly validation
    bars = chart.figure.data[0]
    assert list(bars.x) == [c.count for c in counted.choices]
    assert "2 answers · 67%" in bars.text and "1 answer · 33%" in bars.text
    assert all(label.startswith("<b>") for label in bars.y)  # the letter, not colour, names each bar
    assert len(set(bars.marker.pattern.shape)) > 1 or len({c.zone for c in counted.choices}) == 1
    assert "3 answers in all" in chart.alt and "Most chosen: A" in chart.alt
    assert list(chart.table["Answers"]) == [2, 1] + [0] * (len(ids) - 2)


def test_an_empty_distribution_says_so(example):
    scenario, rubric = example
    chart = distribution_chart(
        tally(first_decision(scenario, rubric), []), [z.label for z in rubric.zones.values()]
    )
    go.Figure(chart.figure.to_dict())
    assert chart.alt.startswith("No answers yet")
    assert any(a["text"] == "No answers yet" for a in chart.figure.layout.annotations)


def test_the_group_balance_chart_sizes_bubbles_by_count_and_marks_the_followed_branch(example):
    scenario, rubric = example
    play = first_decision(scenario, rubric)
    ids = [c.id for c in play.offered_choices()]
    actions = [None] * play.step + [ids[1]]
    data = group_debrief(scenario, rubric, actions, {play.step: [ids[0], ids[0], ids[1]]}, False, 3)
    chart = group_balance_chart(rubric, data.points)
    go.Figure(chart.figure.to_dict())
    names = [t.name for t in chart.figure.data]
    assert names == ["Answers (size: how many chose it)", "Branch the group followed"]
    answers, followed = chart.figure.data
    assert list(answers.text) == ["1A ×2"] and list(followed.text) == ["1B ×1"]
    assert followed.marker.symbol == "diamond" and answers.marker.size[0] > followed.marker.size[0]
    assert "3 answers" in chart.alt and "Diamonds mark" in chart.alt
    assert set(chart.table["Group followed"]) == {"yes", ""}
    empty = group_balance_chart(rubric, [])
    go.Figure(empty.figure.to_dict())
    assert "no answers yet" in empty.alt


def test_the_zone_chart_names_every_zone_with_its_count():
    chart = zone_counts_chart([("Balanced repair", 3), ("Over-apology", 0), ("Defensive", 1)])
    go.Figure(chart.figure.to_dict())
    assert list(chart.figure.data[0].text) == ["3", "0", "1"]
    assert chart.alt == "4 responses by zone: 3 Balanced repair, 0 Over-apology and 1 Defensive."
    assert zone_counts_chart([("A", 0)]).alt == "No responses yet in any zone."


@pytest.mark.parametrize(
    ("context_url", "headers", "env", "expected"),
    [
        ("http://10.0.0.5:8501/group_host?session=x", {}, {}, "http://10.0.0.5:8501"),
        ("https://lab.example.edu/repairlab/group_host", {}, {}, "https://lab.example.edu/repairlab"),
        ("https://lab.example.edu/", {}, {}, "https://lab.example.edu"),
        (None, {"Host": "room12:8501"}, {}, "http://room12:8501"),
        (
            None,
            {"X-Forwarded-Host": "lab.edu", "X-Forwarded-Proto": "https", "Host": "10.0.0.1"},
            {},
            "https://lab.edu",
        ),
        (
            "http://localhost:8501/group_host",
            {},
            {"REPAIRLAB_PUBLIC_URL": "https://lab.edu/rl/"},
            "https://lab.edu/rl",
        ),
        (None, {"Host": "bad host<script>"}, {}, None),
    ],
)
def test_the_join_links_base_url_comes_from_the_override_the_browser_or_the_headers(
    context_url, headers, env, expected
):
    assert public_base_url(context_url, headers, env) == expected


def test_join_links_and_qr_codes_are_made_in_memory():
    url = join_url("https://lab.edu", "ABC234")
    assert url == "https://lab.edu/group_join?code=ABC234"
    assert join_url(None, "ABC234") == "/group_join?code=ABC234"
    png = qr_png(url)
    assert png.startswith(b"\x89PNG")
    from PIL import Image

    assert Image.open(io.BytesIO(png)).size[0] >= 300  # large enough for a projector
    assert qr_svg(url).lstrip().startswith("<svg")
    assert is_loopback("http://localhost:8501") and is_loopback("http://127.0.0.1:1") and not is_loopback(url)
