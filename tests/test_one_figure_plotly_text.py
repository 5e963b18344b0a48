"""Charts treat data as data: a model, account or judge named with HTML shows as those characters.

Plotly renders a subset of HTML (``<a href>``, ``<b>``, ``<br>``) in trace names, tick labels and
text; every figure of ``analytics.figures`` escapes the data strings it draws.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest

from annotate_app.analytics import figures

LINK = '<a href="https://evil.example/x">click</a>'
BOLD = "<b>boss</b>"


def _strings(value) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def _data_strings(fig) -> list[str]:
    """Every string in the traces of the figure as the browser receives it (its JSON)."""
    return _strings(json.loads(fig.to_json())["data"])


RATINGS = pd.DataFrame(
    {
        "model": [LINK, BOLD],
        "rating": [1010.0, 990.0],
        "ci_low": [990.0, 970.0],
        "ci_high": [1030.0, 1010.0],
        "wins": [3, 1],
        "ties": [1, 1],
        "losses": [1, 3],
    }
)

FIGURES = {
    "ratings": lambda: figures.ratings_chart(RATINGS),
    "battles": lambda: figures.battles_per_model(RATINGS),
    "win_rate": lambda: figures.win_rate_heatmap(
        pd.DataFrame([[None, 0.7], [0.3, None]], index=[LINK, BOLD], columns=[LINK, BOLD])
    ),
    "throughput": lambda: figures.annotator_throughput(
        pd.DataFrame(
            {
                "annotator": [LINK, BOLD],
                "source": "human",
                "labels": [4, 5],
                "median_seconds": [3.0, 4.0],
            }
        )
    ),
    "gold": lambda: figures.gold_accuracy(
        pd.DataFrame(
            {"annotator": [LINK, BOLD], "n_gold": [2, 2], "correct": [1, 2], "accuracy": [0.5, 1.0]}
        )
    ),
    "kappa": lambda: figures.kappa_heatmap(
        pd.DataFrame({"annotator_1": [LINK], "annotator_2": [BOLD], "n_pairs": [3], "kappa": [0.5]})
    ),
    "judges": lambda: figures.judge_agreement(
        pd.DataFrame({"judge": [LINK], "n_pairs": [4], "agreement": [0.75], "kappa": [0.5]})
    ),
    "reliability": lambda: figures.reliability_diagram(
        pd.DataFrame({"judge": [BOLD], "mean_p_a": [0.7], "frac_a": [0.6], "count": [5]})
    ),
    "labels_over_time": lambda: figures.labels_over_time(
        pd.DataFrame({"day": ["2026-11-01"], "source": [LINK], "labels": [3]})
    ),
}


@pytest.mark.parametrize("name", list(FIGURES))
def test_names_with_html_are_escaped(name):
    strings = _data_strings(FIGURES[name]())
    assert not [s for s in strings if "<a" in s or "<b>" in s], strings
    escaped = " ".join(strings)
    assert "&lt;a href=" in escaped or "&lt;b&gt;boss&lt;/b&gt;" in escaped, strings


def test_escaping_keeps_the_text_readable():
    fig = figures.ratings_chart(RATINGS)
    # the browser decodes the entities, so the tick label reads exactly the model's name
    assert list(fig.data[0].y) == [
        "&lt;b&gt;boss&lt;/b&gt;",
        '&lt;a href="https://evil.example/x"&gt;click&lt;/a&gt;',
    ]
    assert list(fig.data[0].x) == [990.0, 1010.0]  # numbers are left alone


@pytest.mark.parametrize("days", [["2026-11-01"], ["2026-11-01", "2026-11-03"]])
def test_labels_per_day_ticks_whole_days_on_a_young_project(days):
    fig = figures.labels_over_time(
        pd.DataFrame({"day": pd.to_datetime(days).date, "source": "human", "labels": 2})
    )
    axis = fig.layout.xaxis
    assert axis.type == "date" and axis.dtick == 86_400_000  # one tick a day, not hours or ms
    low, high = (pd.Timestamp(x) for x in axis.range)
    assert low == pd.Timestamp(days[0]) - pd.Timedelta(days=1)
    assert high == pd.Timestamp(days[-1]) + pd.Timedelta(days=1)
    assert fig.data[0].width == 0.8 * 86_400_000  # a lone bar keeps a day's width
    assert fig.layout.yaxis.dtick == 1  # whole labels


def test_labels_per_day_ticks_on_their_own_over_months():
    days = pd.date_range("2026-01-01", periods=120).date
    fig = figures.labels_over_time(pd.DataFrame({"day": days, "source": "human", "labels": 1}))
    assert fig.layout.xaxis.dtick is None
