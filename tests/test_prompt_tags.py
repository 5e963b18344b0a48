"""HyPER's LLM-tagged prompt metadata: strict parsing, the per-(prompt, tagger) cache filled by
``annotate tag-prompts`` through the loopback judge server, and the tags as learned-router features
that find a judge's planted weakness on expert prompts."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from annotate_app.cli import main
from annotate_app.judge.spec import http_judge_id
from annotate_app.judge.tagging import TagParseError, parse_tags
from annotate_app.routing import plan as routing_plan
from annotate_app.routing.features import FEATURE_NAMES, LLM_TAG_FEATURES, pair_features
from annotate_app.routing.learned import LearnedRouter, LearnedRouterConfig
from annotate_app.routing.policies import PolicyConfig
from annotate_app.store import Store
from tests.judge_server import JudgeServer, ServerState

VALID = {
    "subject": "math",
    "expertise": "expert",
    "open_endedness": "none",
    "safety_concern": "no",
    "complexity": "complex",
    "format_constraints": "yes",
}


def test_parse_accepts_strict_json_and_a_fence():
    assert parse_tags(json.dumps(VALID)).expertise == "expert"
    fenced = parse_tags("```json\n" + json.dumps(VALID | {"subject": "Coding"}) + "\n```")
    assert fenced.subject == "coding" and fenced.format_constraints == "yes"


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        ("I think it is about math.", "no JSON object"),
        ("{subject: math}", "not valid JSON"),
        (json.dumps(VALID | {"expertise": "guru"}), "'expertise': 'guru' is not one of"),
        (
            json.dumps({k: v for k, v in VALID.items() if k != "complexity"}),
            "missing ['complexity']",
        ),
        (json.dumps(VALID | {"mood": "happy"}), "unexpected ['mood']"),
        (json.dumps(VALID | {"safety_concern": True}), "'safety_concern': True"),
    ],
)
def test_parse_refuses_malformed_answers(answer, message):
    with pytest.raises(TagParseError, match=message.replace("[", r"\[").replace("]", r"\]")):
        parse_tags(answer)


def _project(tmp_path, n: int = 4):
    data, db = tmp_path / "pairs.jsonl", tmp_path / "p.duckdb"
    prompts = [f"EXPERT question {i}?" if i % 2 else f"def question {i}?" for i in range(n)]
    rows = [{"prompt": p, "response_a": "GOOD a.", "response_b": "Meh b."} for p in prompts]
    data.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    assert main(["--db", str(db), "import", str(data)]) == 0
    return db


def _tag(db, server, *extra) -> int:
    spec = ["--judge", f"openai:{server.url}", "--model", "tagger"]
    return main(["--db", str(db), "tag-prompts", *spec, *extra])


def test_tag_prompts_round_trip_cache_and_features(tmp_path, capsys):
    db = _project(tmp_path)
    with JudgeServer() as server:
        assert _tag(db, server, "--limit", "3") == 0
        assert server.state.requests == 3
        assert _tag(db, server) == 0
        assert server.state.requests == 4
        assert _tag(db, server) == 0  # every prompt is cached: no request at all
        assert server.state.requests == 4
        assert "nothing to tag" in capsys.readouterr().out
        tagger = http_judge_id(server.url, "tagger")
    with Store(db) as store:
        assert store.prompt_taggers() == {tagger: 4}
        tags = store.pair_prompt_tags()
        pairs = store.routing_pairs()
    assert len(tags) == 4
    merged = pairs.merge(tags, on="pair_id")
    expert = merged["prompt"].str.contains("EXPERT")
    assert (merged["expertise"] == np.where(expert, "expert", "general")).all()
    assert (merged["subject"] == np.where(expert, "general", "coding")).all()
    feats = pair_features(pairs, llm_tags=tags).loc[merged["pair_id"]]
    assert (feats["has_llm_tags"] == 1).all()
    assert (feats["llm_expertise_expert"].to_numpy() == expert.to_numpy()).all()
    assert (feats["llm_subject_coding"].to_numpy() == (~expert).to_numpy()).all()
    # one column per multi-option tag (4); the yes/no tags are both "no" here
    assert feats[list(LLM_TAG_FEATURES)].sum(axis=1).eq(4).all()


def test_untagged_pairs_have_zero_tag_features():
    pairs = pd.DataFrame(
        {"pair_id": ["a", "b"], "prompt": ["p", "q"], "n_turns": [1, 1], "text_a": ["x", "y"],
         "text_b": ["y", "x"]}
    )  # fmt: skip
    tags = pd.DataFrame([{"pair_id": "a", **VALID}])
    feats = pair_features(pairs, llm_tags=tags)
    assert list(feats.columns) == list(FEATURE_NAMES)
    assert feats.loc["a", "has_llm_tags"] == 1 and feats.loc["a", "llm_format_constraints"] == 1
    assert feats.loc["b", ["has_llm_tags", *LLM_TAG_FEATURES]].eq(0).all()
    assert pair_features(pairs).loc[:, list(LLM_TAG_FEATURES)].eq(0).all().all()


def test_malformed_answer_leaves_prompts_untagged(tmp_path, capsys):
    db = _project(tmp_path, n=2)
    with JudgeServer(ServerState(mode="malformed")) as server:
        assert _tag(db, server) == 0
        out = capsys.readouterr().out
        assert "2 answers refused, left untagged" in out and "no JSON object" in out
    with Store(db) as store:
        assert store.prompt_taggers() == {} and store.pair_prompt_tags().empty
        assert len(store.untagged_prompts("anything")) == 2


def test_timeout_fails_the_run_and_keeps_nothing_guessed(tmp_path, capsys):
    db = _project(tmp_path, n=2)
    with JudgeServer(ServerState(delay_s=0.6)) as server:
        rc = _tag(db, server, "--timeout", "0.15", "--retries", "1")
        assert rc != 0
        assert server.state.requests == 2  # one prompt: the first try and one retry
    assert "timed out after 0.15s" in capsys.readouterr().err
    with Store(db) as store:
        assert store.prompt_taggers() == {}


def _pool(n: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, np.ndarray]:
    """Pairs whose judge is wrong exactly on the prompts tagged expert (and right elsewhere); the
    texts say nothing about which prompts those are."""
    rng = np.random.default_rng(seed)
    ids = [f"s{seed}-{i}" for i in range(n)]
    words = np.array(["bread", "flour", "water", "yeast", "oven", "bake", "salt", "bowl"])
    text = [" ".join(rng.choice(words, size=int(k))) for k in rng.integers(5, 40, size=3 * n)]
    pairs = pd.DataFrame(
        {"pair_id": ids, "prompt": text[:n], "n_turns": 1, "text_a": text[n : 2 * n],
         "text_b": text[2 * n :]}
    )  # fmt: skip
    expert = rng.random(n) < 0.3
    human = rng.integers(0, 2, n)
    judge_a = np.where(expert, 1 - human, human)
    verdicts = pd.DataFrame({"pair_id": ids, "p_a": np.where(judge_a == 1, 0.8, 0.2)})
    levels = np.where(expert, "expert", rng.choice(["general", "basic"], size=n))
    tags = pd.DataFrame(
        [{"pair_id": p, **VALID, "expertise": e} for p, e in zip(ids, levels, strict=True)]
    )
    return pairs, verdicts, tags, expert.astype(int)


@pytest.mark.parametrize("model", ["logistic", "gbm"])
def test_router_with_tags_beats_router_without_on_held_out_pairs(model):
    train, test = _pool(300, 0), _pool(300, 1)
    auc = {}
    for use_tags in (False, True):
        router = LearnedRouter(LearnedRouterConfig(model=model))
        x_train = pair_features(train[0], train[1], llm_tags=train[2] if use_tags else None)
        router.fit(x_train, train[3])
        x_test = pair_features(test[0], test[1], llm_tags=test[2] if use_tags else None)
        auc[use_tags] = roc_auc_score(test[3], router.p_disagree(x_test))
    assert auc[True] > 0.95, auc
    assert auc[False] < 0.7, auc
    assert auc[True] - auc[False] > 0.25, auc


def test_routing_plan_reads_the_cached_tags(tmp_path):
    db = _project(tmp_path, n=4)
    with JudgeServer() as server:
        assert _tag(db, server, "--limit", "2") == 0
    with Store(db) as store:
        config = routing_plan.RoutingConfig(policy=PolicyConfig(name="confidence"))
        features = routing_plan.preview(store, config).features
        tagged = set(store.pair_prompt_tags()["pair_id"])
    assert len(features) == 4 and len(tagged) == 2
    assert set(features.index[features["has_llm_tags"] == 1]) == tagged
    assert features.loc[sorted(tagged), "llm_complexity_simple"].eq(1).all()
