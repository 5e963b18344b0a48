"""Arena battles: FastChat ``clean_battle`` records, the very votes the leaderboard counts."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from annotate_app.analytics.leaderboard import LeaderboardConfig, leaderboard, rate_models
from annotate_app.cli import main
from annotate_app.export.options import ExportOptions
from annotate_app.export.preferences import export_dataset
from tests.analytics_data import populate
from tests.seed import human_label

FASTCHAT_FIELDS = {"model_a", "model_b", "winner", "judge", "turn", "anony", "tstamp"}


def test_battles_are_the_leaderboards_votes(store, tmp_path):
    populate(store)
    human_label(store, store.pairs_frame()["pair_id"].iloc[0], "dana", None, both_bad=True)
    report = export_dataset(store, tmp_path / "battles.json", "battles")
    battles = pd.read_json(tmp_path / "battles.json")  # how FastChat's elo_analysis reads it
    assert report.rows == len(battles) and "battles" in report.summary()
    assert set(battles.columns) >= FASTCHAT_FIELDS
    assert set(battles["winner"]) == {"model_a", "model_b", "tie", "tie (bothbad)"}
    assert battles["anony"].all() and (battles["turn"] >= 1).all()
    assert battles["tstamp"].is_monotonic_increasing
    assert (battles["model_a"] != battles["model_b"]).all()
    # FastChat's own counting of these records gives the leaderboard's battles and ratings
    counts = (
        battles.assign(
            wins_a=battles["winner"].eq("model_a"),
            wins_b=battles["winner"].eq("model_b"),
            ties=battles["winner"].str.startswith("tie"),
        )
        .groupby(["model_a", "model_b"], as_index=False)[["wins_a", "wins_b", "ties"]]
        .sum()
    )
    board = leaderboard(store, LeaderboardConfig(bootstrap_rounds=0))
    pd.testing.assert_frame_equal(
        counts.astype({c: "int64" for c in ("wins_a", "wins_b", "ties")}),
        board.battles.astype({c: "int64" for c in ("wins_a", "wins_b", "ties")}),
        check_dtype=False,
    )
    ours = rate_models(counts, rounds=0).set_index("model")["rating"]
    assert ours.to_dict() == pytest.approx(board.ratings.set_index("model")["rating"].to_dict())
    human = export_dataset(store, tmp_path / "h.json", "battles", ExportOptions(source="human"))
    assert (
        set(pd.read_json(tmp_path / "h.json")["source"]) == {"human"} and human.rows < report.rows
    )


def test_battles_refuse_curation_options(store, project_paths, tmp_path, capsys):
    populate(store)
    with pytest.raises(ValueError, match="battles format holds every vote"):
        export_dataset(store, tmp_path / "b.json", "battles", ExportOptions(test_fraction=0.2))
    store.close()
    db = ["--db", str(project_paths.db)]
    assert main([*db, "export", str(tmp_path / "b.json"), "--format", "battles"]) == 0
    assert json.loads((tmp_path / "b.json").read_text())[0]["winner"]
    code = main(
        [*db, "export", str(tmp_path / "c.json"), "--format", "battles", "--min-agreement", "0.5"]
    )
    assert code != 0 and "nothing was written" in capsys.readouterr().err
    assert not (tmp_path / "c.json").exists()
