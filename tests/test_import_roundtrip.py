"""Export, then import into a new project: the same pairs (content-derived ids) with the same
winners, through every dataset format, splits included."""

from __future__ import annotations

import pytest

from annotate_app.export.options import ExportOptions
from annotate_app.export.preferences import export_dataset, preference_rows
from annotate_app.ingest import import_file
from annotate_app.store import Store
from tests.analytics_data import populate


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    store = Store(tmp_path_factory.mktemp("roundtrip") / "p.duckdb")
    populate(store)
    yield store
    store.close()


def winners(store: Store) -> dict[str, str]:
    """pair id -> the text of the response the imported label prefers."""
    labels = store.current_labels(source="import").set_index("pair_id")["choice"]
    pairs = store.pairs_frame().set_index("pair_id")
    return {
        pid: pairs.loc[pid, "text_a"] if choice > 0 else pairs.loc[pid, "text_b"]
        for pid, choice in labels.items()
    }


@pytest.mark.parametrize(
    ("fmt", "name"), [("dpo-jsonl", "x.jsonl"), ("parquet", "x.parquet"), ("hf", "hf")]
)
def test_export_imports_back_with_the_same_pairs_and_labels(project, tmp_path, fmt, name):
    options = ExportOptions(aggregate="majority", test_fraction=0.25, seed=3)
    report = export_dataset(project, tmp_path / name, fmt, options)
    rows = preference_rows(project, options).frame()
    assert report.conversational  # the demo has multi-turn prompts: chat messages
    expected = {r.pair_id: r.chosen[0]["content"] for r in rows.itertuples(index=False)}
    with Store(tmp_path / "fresh.duckdb") as fresh:
        for path in report.paths:  # the hf folder, or one file per split
            back = import_file(fresh, path)
            assert back.format == "chosen-rejected" and back.dropped_blank == 0
        assert fresh.stats()["pairs"] == len(expected)
        assert winners(fresh) == expected
        original = project.pairs_frame(list(expected)).set_index("pair_id")
        imported = fresh.pairs_frame().set_index("pair_id").loc[original.index]
        assert (imported["turns"] == original["turns"]).all()
        assert imported[["model_a", "model_b"]].equals(original[["model_a", "model_b"]])
