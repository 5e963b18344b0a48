"""Reward-model export: a model version's Hugging Face folder, copied out or zipped."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from annotate_app.export.files import zip_folder
from annotate_app.store import Store


def export_model(store: Store, version: str, dest: str | Path) -> Path:
    """Copy a reward-model version's Hugging Face folder to ``dest`` (which must not exist yet)."""
    row = store.model_version(version)
    if row is None:
        raise ValueError(f"no model version {version!r}; see the Reward page or model_versions")
    source = _model_dir(store, row["path"])
    if not source.is_dir():
        raise FileNotFoundError(f"model version {row['id']} points to {source}, which is missing")
    dest = Path(dest)
    if dest.exists():
        raise FileExistsError(f"{dest} already exists; choose a new folder")
    shutil.copytree(source, dest)
    return dest


def model_bytes(store: Store, version: str) -> tuple[bytes, str]:
    """A reward-model version's folder as a zip download."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = export_model(store, version, Path(tmp) / "model")
        return zip_folder(folder), f"reward-model-{version}.zip"


def _model_dir(store: Store, stored: str) -> Path:
    """Stored paths may be absolute, or relative to the project's models or work folder."""
    path = Path(stored)
    if path.is_absolute():
        return path
    for base in (store.paths.models_dir, store.paths.work_dir, Path.cwd()):
        if (base / path).is_dir():
            return base / path
    return store.paths.models_dir / path
