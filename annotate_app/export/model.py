"""Reward-model export: a model version as a Hugging Face folder, written out or zipped.

Every version trained by the app leaves as a folder that
``AutoModelForSequenceClassification.from_pretrained`` opens offline (``reward.model_folder``): head
mode with ``trust_remote_code=True``, finetune mode as a standard model. The folder is written under
a temporary name beside ``dest`` and renamed when complete, so a failed export leaves nothing.

The app's download is a job (``export_model``): writing the folder loads the encoder and its
weights, and the server process never loads model code, so a worker writes the zip into its job
folder and the page offers that file once the job is done.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from annotate_app.export.files import write_files_atomic, write_folder_atomic, zip_folder
from annotate_app.jobs import JobContext, JobKind, JobRunner, register_kind
from annotate_app.jobs.context import OUTPUTS
from annotate_app.reward.config import TRAIN_CONFIG_FILE
from annotate_app.store import Store

EXPORT_MODEL = "export_model"


def export_model(store: Store, version: str, dest: str | Path) -> Path:
    """Write a reward-model version's Hugging Face folder to ``dest`` (new or an empty folder).

    A folder that no train job wrote (it lacks train_config.json, e.g. one registered by hand) is
    copied as it is.
    """
    _, source = _version_folder(store, version)
    write_folder_atomic(Path(dest), lambda tmp: _write(source, tmp))
    return Path(dest)


def _version_folder(store: Store, version: str) -> tuple[str, Path]:
    """(version id, its folder) for a version id or "active"; a clear error when either is gone."""
    row = store.model_version(version)
    if row is None:
        raise ValueError(f"no model version {version!r}; the Data page lists the versions")
    source = _model_dir(store, row["path"])
    if not source.is_dir():
        raise FileNotFoundError(f"model version {row['id']} points to {source}, which is missing")
    return str(row["id"]), source


def _write(source: Path, tmp: Path) -> None:
    if (source / TRAIN_CONFIG_FILE).exists():
        from annotate_app.reward.model_folder import write_model_folder  # loads model code

        write_model_folder(source, tmp)
    else:
        shutil.copytree(source, tmp, dirs_exist_ok=True)


def zip_name(version: str) -> str:
    return f"reward-model-{version}.zip"


def start_model_zip(store: Store, runner: JobRunner, version: str) -> str:
    """Start a worker that zips a version's Hugging Face folder; returns the job id."""
    version, source = _version_folder(store, version)
    return runner.submit(EXPORT_MODEL, params={"version": version, "source": str(source)})


def model_zip(runner: JobRunner, job: dict) -> Path | None:
    """The zip a finished ``export_model`` job left, if it is still there."""
    if job["status"] != "done":
        return None
    path = runner.job_dir(job["id"]) / OUTPUTS / zip_name(job["params"]["version"])
    return path if path.is_file() else None


def work_model_zip(ctx: JobContext) -> dict:
    """Worker: write the folder, zip it into the job's outputs (under a temporary name, renamed
    when whole), and remove the folder."""
    version, source = ctx.params["version"], Path(ctx.params["source"])
    out = ctx.output_dir()
    ctx.progress(0.05, "writing the Hugging Face folder")
    folder = out / "model"
    write_folder_atomic(folder, lambda tmp: _write(source, tmp))
    ctx.progress(0.6, "zipping")
    target = out / zip_name(version)
    write_files_atomic({target: lambda tmp: tmp.write_bytes(zip_folder(folder))})
    shutil.rmtree(folder)
    return {"zip": target.name, "bytes": target.stat().st_size}


def _model_dir(store: Store, stored: str) -> Path:
    """Stored paths may be absolute, or relative to the project's models or work folder."""
    path = Path(stored)
    if path.is_absolute():
        return path
    for base in (store.paths.models_dir, store.paths.work_dir, Path.cwd()):
        if (base / path).is_dir():
            return base / path
    return store.paths.models_dir / path


register_kind(JobKind(EXPORT_MODEL, work="annotate_app.export.model:work_model_zip"))
