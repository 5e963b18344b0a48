"""The app closes the loop: enough new labels start one retrain job, and only one."""

from __future__ import annotations

import time

from annotate_app.ingest import import_file
from annotate_app.reward.jobs import TRAIN
from annotate_app.store import Store
from annotate_app.ui.common import Services
from tests.seed import human_answer, human_label, human_labels


def test_new_labels_start_one_retrain(project_paths, demo_dir):
    with Store(project_paths) as store:
        import_file(store, demo_dir / "responses.jsonl")
        store.set_setting("retrain_every", 4)
        pairs = store.pairs_frame()["pair_id"].tolist()
        human_labels(store, [human_answer(pid, "alice", 1, left_side="a") for pid in pairs[:3]])
    services = Services(project_paths)
    try:
        services._maybe_retrain()
        assert services.store.active_job(TRAIN) is None, "3 labels are below the threshold"
        human_label(services.store, pairs[3], "alice", -1, left_side="b")
        services._maybe_retrain()
        job = services.store.active_job(TRAIN)
        assert job is not None
        services._maybe_retrain()  # debounced: labels that arrive meanwhile wait for the next run
        assert len(services.store.list_jobs(status=("queued", "running"))) == 1
        services.runner.cancel(job, grace=1)  # the trigger is what is tested; stop the real worker
        deadline = time.monotonic() + 15
        while services.runner.poll(job)["status"] == "running" and time.monotonic() < deadline:
            time.sleep(0.2)  # the service thread may be finishing the same job concurrently
        assert services.store.get_job(job)["status"] in ("cancelled", "failed", "done")
    finally:
        services.close()


def test_zero_turns_automatic_retraining_off(project_paths, demo_dir):
    with Store(project_paths) as store:
        import_file(store, demo_dir / "responses.jsonl")
        store.set_setting("retrain_every", 0)
        ten = store.pairs_frame()["pair_id"].tolist()[:10]
        human_labels(store, [human_answer(pid, "alice", 1, left_side="a") for pid in ten])
    services = Services(project_paths)
    try:
        services._maybe_retrain()
        assert services.store.list_jobs().empty
    finally:
        services.close()
