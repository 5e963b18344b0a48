"""One typed settings object: round trip through a real project file, checks, and one home per key."""

from __future__ import annotations

import ast
from dataclasses import fields
from pathlib import Path

import pytest

import annotate_app
from annotate_app import settings
from annotate_app.accounts import auth
from annotate_app.routing.plan import RoutingConfig, load_config, save_config
from annotate_app.settings import KEYS, ProjectSettings
from annotate_app.store import Store

ADMIN = auth.Account("root", "admin")
ALICE = auth.Account("alice", "annotator")
PACKAGE = Path(annotate_app.__file__).parent


def test_defaults_round_trip_and_only_changed_keys_are_written(store: Store) -> None:
    assert ProjectSettings.load(store) == ProjectSettings()
    assert store.all_settings() == {}
    new = ProjectSettings(
        overlap_k=3,
        gold_fraction=0.1,
        aspects_enabled=True,
        guidelines="# Hi",
        retrain_every=0,
        import_max_rows=10,
        judge_template={"system": "Be strict."},
    )
    new.save(store, ADMIN)
    assert ProjectSettings.load(store) == new
    assert set(store.all_settings()) == {
        "overlap_k",
        "gold_fraction",
        "aspects_enabled",
        "guidelines",
        "retrain_every",
        "import_max_rows",
        "judge_template",
    }
    with pytest.raises(PermissionError):
        ProjectSettings(overlap_k=5).save(store, ALICE)
    assert ProjectSettings.load(store).overlap_k == 3
    # the subsystems read and write through the same object
    save_config(store, RoutingConfig())
    assert settings.load(store).routing == RoutingConfig().as_dict() and load_config(store)
    auth.set_idle_minutes(store, ADMIN, 5)
    assert auth.idle_minutes(store) == 5 == settings.load(store).session_idle_minutes
    assert settings.load(store).read_limits().max_rows == 10


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"overlap_k": 0}, "overlap_k must be 1 or more"),
        ({"overlap_k": True}, "overlap_k must be int, got bool"),
        ({"gold_fraction": 1.5}, "gold_fraction must be between 0 and 1"),
        ({"gold_fraction": "a lot"}, "gold_fraction must be int or float"),
        ({"lease_minutes": 0}, "lease_minutes must be 1 or more"),
        ({"retrain_every": -1}, "retrain_every must be 0 or more"),
        ({"session_idle_minutes": 0}, "session_idle_minutes must be 1 minute or more"),
        ({"import_max_bytes": 0}, "import_max_bytes must be 1 or more"),
        ({"import_max_rows": 2.5}, "import_max_rows must be int"),
        ({"guidelines": None}, "guidelines must be str"),
        ({"routing": {"budget": {"no_such": 1}}}, "routing:"),
        ({"judge_template": {"nope": "x"}}, "judge_template"),
        ({"colour": "blue"}, "unknown project settings"),
    ],
)
def test_bad_values_are_refused_and_nothing_is_written(
    store: Store, changes: dict, message: str
) -> None:
    settings.update(store, overlap_k=2)
    before = store.all_settings()
    with pytest.raises((ValueError, TypeError), match=message):
        settings.update(store, **changes)
    assert store.all_settings() == before


def test_a_stored_value_of_the_wrong_type_is_reported_by_name(store: Store) -> None:
    store.set_setting("lease_minutes", "thirty")
    with pytest.raises(ValueError, match="lease_minutes must be int"):
        settings.load(store).validate()


def _string_constants(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
        if id(node) not in docstrings
    ]


def test_every_settings_key_is_spelled_only_in_settings_py() -> None:
    """A settings key as a string literal anywhere else would be a second home for it; so would a
    direct settings-table read or write outside the store, settings.py and the invite records."""
    assert tuple(f.name for f in fields(ProjectSettings)) == KEYS
    # plain words ('routing', 'guidelines') are also ordinary dict keys; the call check covers them
    distinctive = {key for key in KEYS if "_" in key}
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name == "settings.py" and path.parent == PACKAGE:
            continue
        found += [
            f"{path.relative_to(PACKAGE)}:{line}: {value!r}"
            for line, value in _string_constants(path)
            if value in distinctive
        ]
        text = path.read_text(encoding="utf-8")
        direct = ("get_setting(", "set_setting(", "all_settings(")
        if (
            path.parent.name != "store"
            and path.name != "auth.py"
            and any(d in text for d in direct)
        ):
            found.append(
                f"{path.relative_to(PACKAGE)}: reads or writes the settings table directly"
            )
    assert not found, "settings keys outside annotate_app/settings.py:\n" + "\n".join(found)
