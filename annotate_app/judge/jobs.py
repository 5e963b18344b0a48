"""The "judge" job: the worker judges pairs chunk by chunk; the parent stores each finished chunk.

Each chunk is one output Parquet, written whole, and the parent ingests each in one transaction, so a
killed run leaves only whole chunks behind. The parent picks only pairs without a verdict from this
judge, so the next run resumes where the last one stopped.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from annotate_app import settings
from annotate_app.jobs.context import JobContext
from annotate_app.jobs.kinds import JobKind, register_kind
from annotate_app.judge.debias import choice_from_p_a, judge_pairs
from annotate_app.judge.prompt import JudgeTemplate
from annotate_app.judge.protocol import PairText, Verdict
from annotate_app.judge.spec import JudgeSpec

if TYPE_CHECKING:
    from annotate_app.jobs.runner import JobRunner
    from annotate_app.store import Store

KIND = "judge"
COLLECTED = ".collected"


@dataclass
class JudgeJobConfig:
    pairs: str = "all"  # "all" | "routed" (pairs the router sent to the AI)
    limit: int | None = None
    chunk_size: int = 16  # pairs per output file: the unit that survives a kill


class JudgeBusy(RuntimeError):
    """A judge job is already running on this project."""


def submit_judge_job(
    store: Store, runner: JobRunner, spec: JudgeSpec, config: JudgeJobConfig | None = None
) -> tuple[str | None, int]:
    """Start judging the pairs this judge has not judged yet; (job id, pair count), or (None, 0)."""
    config = config or JudgeJobConfig()
    running = store.active_job(KIND)
    if running:
        raise JudgeBusy(f"judge job {running} is still running; wait for it or cancel it")
    project = settings.load(store)
    template = JudgeTemplate.from_setting(project.judge_template)
    todo = store.judge_candidates(spec.judge_id, config.pairs, config.limit)
    if todo.empty:
        return None, 0
    params = {
        "spec": spec.to_dict(),
        "judge_id": spec.judge_id,
        "template": template.to_dict(),
        "guidelines": project.guidelines or None,
        "chunk_size": config.chunk_size,
    }
    return runner.submit(KIND, params, {"pairs": todo}), len(todo)


def work(ctx: JobContext) -> dict:
    pairs = ctx.input("pairs")
    spec = JudgeSpec.from_dict(ctx.params["spec"])
    template = JudgeTemplate.from_setting(ctx.params["template"])
    chunk = max(1, int(ctx.params.get("chunk_size", 16)))
    ctx.progress(0.0, f"loading judge {spec.judge_id}")
    judge = spec.build(template, ctx.params.get("guidelines"))
    info = {
        "judge_id": ctx.params["judge_id"],
        "model": judge.model,
        "template_sha": hashlib.sha256(
            json.dumps(template.to_dict(), sort_keys=True).encode()
        ).hexdigest()[:12],
        "job_id": ctx.job_id,
    }
    judged = unusable = 0
    for n, start in enumerate(range(0, len(pairs), chunk)):
        rows = pairs.iloc[start : start + chunk]
        batch = [
            PairText(r.pair_id, json.loads(r.turns), r.text_a, r.text_b)
            for r in rows.itertuples(index=False)
        ]
        verdicts = judge_pairs(judge, batch)
        found = [v for v in verdicts if v is not None]
        judged += len(found)
        unusable += len(verdicts) - len(found)
        ctx.write_output(f"chunk-{n:06d}", verdict_frame(found, info))
        done = start + len(rows)
        ctx.progress(done / len(pairs), f"{done}/{len(pairs)} pairs judged")
    return {"judge_id": info["judge_id"], "judged": judged, "unusable": unusable}


def verdict_frame(verdicts: list[Verdict], info: dict) -> pd.DataFrame:
    rows = []
    for v in verdicts:
        meta = {
            **info,
            "p_ab": v.p_ab,
            "p_ba": v.p_ba,
            "consistent": v.consistent,
            "latency_s": v.latency_s,
            "tokens": v.tokens,
            "cost": v.cost,
            **v.details,
        }
        rows.append(
            {
                "pair_id": v.pair_id,
                "judge_id": info["judge_id"],
                "choice": choice_from_p_a(v.p_a),
                "p_a": v.p_a,
                "rationale": v.rationale,
                "latency_ms": int(round(v.latency_s * 1000)),
                "metadata": json.dumps(meta),
            }
        )
    columns = ["pair_id", "judge_id", "choice", "p_a", "rationale", "latency_ms", "metadata"]
    return pd.DataFrame(rows, columns=columns).astype(
        {"choice": "int16", "p_a": "float64", "latency_ms": "int64", "rationale": "object"}
    )


def collect(store: Store, job_dir: Path, final: bool) -> None:
    """Store every finished chunk not stored yet; the marker is only a shortcut, the insert itself
    skips pairs that already have this judge's verdict."""
    for path in sorted((job_dir / "outputs").glob("chunk-*.parquet")):
        marker = path.with_name(path.name + COLLECTED)
        if marker.exists():
            continue
        store.add_judge_verdicts(pd.read_parquet(path))
        marker.touch()
    if final:
        # new verdicts on human-labeled pairs: the calibration routing reads gets a new version
        from annotate_app.analytics.calibration import refresh_calibrations

        refresh_calibrations(store, any_new=True)


register_kind(
    JobKind(KIND, work=f"{__name__}:work", collect=f"{__name__}:collect", incremental=True)
)
