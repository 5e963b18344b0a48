"""Reward-model export: a model version as a Hugging Face folder, written out or zipped.

Every version trained by the app leaves as a folder that
``AutoModelForSequenceClassification.from_pretrained`` opens offline (``reward.model_folder``): head
mode with ``trust_remote_code=True``, finetune mode as a standard model. The folder is written under
a temporary name beside ``dest`` and renamed when complete, so a failed export leaves nothing.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from annotate_app.export.files import write_folder_atomic, zip_folder
from annotate_app.reward.config import TRAIN_CONFIG_FILE
from annotate_app.reward.model_folder import write_model_folder
from annotate_app.store import Store


def export_model(store: Store, version: str, dest: str | Path) -> Path:
    """Write a reward-model version's Hugging Face folder to ``dest`` (new or an empty folder).

    A folder that no train job wrote (it lacks train_config.json, e.g. one registered by hand) is
    copied as it is.
    """
    row = store.model_version(version)
    if row is None:
        raise ValueError(f"no model version {version!r}; see the Reward page or model_versions")
    source = _model_dir(store, row["path"])
    if not source.is_dir():
        raise FileNotFoundError(f"model version {row['id']} points to {source}, which is missing")
    dest = Path(dest)

    def write(tmp: Path) -> None:
        if (source / TRAIN_CONFIG_FILE).exists():
            write_model_folder(source, tmp)
        else:
            shutil.copytree(source, tmp, dirs_exist_ok=True)

    write_folder_atomic(dest, write)
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
