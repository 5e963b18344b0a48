"""`annotate simulate`: one command, two modes (--strategies, --routing); caches in the project."""

from __future__ import annotations

import json

import pytest

from annotate_app.cli import main


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """One project for the module: the second simulation reads the vectors the first embedded."""
    return tmp_path_factory.mktemp("sim") / "p.duckdb"


def _labeled_file(path, n: int, offset: int = 0) -> None:
    with path.open("w", encoding="utf-8") as f:
        for i in range(offset, offset + n):
            good = f"Step {i}: boil water, add the pasta, stir, and drain it after ten minutes."
            bad = f"Pasta {i}? No idea."
            f.write(
                json.dumps(
                    {
                        "prompt": f"How do I cook pasta, version {i}?",
                        "chosen": good,
                        "rejected": bad,
                    }
                )
                + "\n"
            )


def test_simulate_with_routing_writes_result_rows(tmp_path, monkeypatch, project):
    home = tmp_path / "home"
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("ANNOTATE_WORK_DIR", raising=False)
    data, test, out = tmp_path / "pool.jsonl", tmp_path / "test.jsonl", tmp_path / "sim.json"
    db = project
    _labeled_file(data, 24)
    _labeled_file(test, 12, offset=100)
    code = main(
        [
            "--db", str(db), "simulate", str(data), "--test", str(test), "--routing", "all-human,random,confidence",
            "--human-budgets", "0.25,1", "--judge", "simulated:0.7", "--seeds", "1", "--rounds", "2",
            "--json", str(out),
        ]
    )  # fmt: skip
    assert code == 0
    result = json.loads(out.read_text())
    rows = result["results"]
    assert {r["policy"] for r in rows} == {"all-human", "random", "confidence"}
    keys = {
        "policy",
        "human_budget",
        "seed",
        "human_labels",
        "ai_labels",
        "label_accuracy",
        "rm_accuracy",
        "cost",
    }
    assert all(keys <= set(r) for r in rows)
    full = [r for r in rows if r["policy"] == "all-human"]
    assert all(r["label_accuracy"] == 1.0 and r["ai_labels"] == 0 for r in full)
    assert "synthetic" in json.dumps(result["judge"])
    # the caches live in the project's work folder: verdicts as Parquet, vectors in the project
    assert list((db.parent / "p.work" / "simulation").glob("verdicts-*.parquet"))
    assert not home.exists()
    from annotate_app.reward.encoder import EncoderConfig
    from annotate_app.store import Store

    with Store(db) as store:
        assert store.embedding_count(EncoderConfig().cache_id) == 2 * (24 + 12)


def test_simulate_takes_one_mode():
    assert main(["simulate", "x.jsonl", "--strategies", "random", "--routing", "random"]) == 1


def test_simulate_routing_command_is_gone(capsys):
    with pytest.raises(SystemExit):
        main(["simulate-routing", "x.jsonl"])


def test_simulate_routing_replays_recorded_verdicts(tmp_path, capsys, project):
    """`--judge recorded:FILE`: the verdicts file's judge labels the pool; here it always picks the
    chosen reply except on every fourth pair, so its agreement is 0.75 and routing can fix it."""
    data, test, verdicts = tmp_path / "pool.jsonl", tmp_path / "test.jsonl", tmp_path / "v.jsonl"
    _labeled_file(data, 24)
    _labeled_file(test, 12, offset=100)
    rows = []
    for line in data.read_text().splitlines():
        r = json.loads(line)
        i = len(rows)
        rows.append(
            {"prompt": r["prompt"], "response_a": r["chosen"], "response_b": r["rejected"],
             "judge": "their-judge", "winner": "b" if i % 4 == 0 else "a"}
        )  # fmt: skip
    verdicts.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    out = tmp_path / "sim.json"
    code = main(
        [
            "--db", str(project), "simulate", str(data), "--test", str(test),
            "--routing", "all-ai,random", "--human-budgets", "0.5",
            "--judge", f"recorded:{verdicts}", "--seeds", "1", "--rounds", "1", "--no-rm",
            "--json", str(out),
        ]
    )  # fmt: skip
    assert code == 0
    result = json.loads(out.read_text())
    assert result["judge"] == "their-judge (recorded)" and result["verdict_only_judge"]
    assert result["judge_agreement"] == 0.75
    all_ai = next(r for r in result["results"] if r["policy"] == "all-ai")
    assert all_ai["label_accuracy"] == 0.75
    assert "one human label per pair" in capsys.readouterr().out


def test_simulate_says_which_head_its_reward_model_is(tmp_path, project):
    """Replays fit the head as the train job does unless --no-head-choice; the result says which."""
    data, test = tmp_path / "pool.jsonl", tmp_path / "test.jsonl"
    _labeled_file(data, 24)
    _labeled_file(test, 12, offset=100)
    notes = {}
    for flags in ([], ["--no-head-choice"]):
        out = tmp_path / f"sim{len(flags)}.json"
        code = main(
            [
                "--db", str(project), "simulate", str(data), "--test", str(test),
                "--routing", "all-human", "--human-budgets", "1", "--seeds", "1", "--rounds", "1",
                "--json", str(out), *flags,
            ]
        )  # fmt: skip
        assert code == 0
        notes[bool(flags)] = json.loads(out.read_text())["reward_model"]
    assert "chosen per fit as the train job" in notes[False]
    assert "configured head, unscaled" in notes[True]
