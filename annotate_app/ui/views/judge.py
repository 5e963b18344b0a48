"""AI judge (admin): how far each judge agrees with humans, its reliability diagram, calibration
versions, and a form that starts a judge job without waiting for it."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from annotate_app.analytics import figures
from annotate_app.analytics.calibration import (
    METHODS,
    agreement_by,
    judge_eval_frame,
    judge_report,
    refit_calibration,
)
from annotate_app.judge.jobs import JudgeBusy, JudgeJobConfig, submit_judge_job
from annotate_app.judge.prompt import TemplateError
from annotate_app.judge.spec import JudgeSpec, JudgeSpecError
from annotate_app.ui import common


def _reliability_points(report: dict[str, dict]) -> pd.DataFrame:
    columns = ["judge", "bin_low", "bin_high", "mean_p_a", "frac_a", "count"]
    rows = [
        {**b, "judge": judge_id}
        for judge_id, m in report.items()
        for b in m.get("reliability") or []
    ]
    return pd.DataFrame(rows, columns=columns)


def _figures_table(report: dict[str, dict]) -> list[dict]:
    rows = []
    for judge_id, m in report.items():
        calib = m.get("calibration")
        lo, hi = m.get("agreement_ci95", (None, None))
        rows.append(
            {
                "judge": judge_id,
                "verdicts": m["n_verdicts"],
                "pairs with human labels": m["n"],
                "agreement": m.get("agreement"),
                "95% CI": f"{lo:.2f}-{hi:.2f}" if lo is not None else "",
                "Cohen's kappa": m.get("kappa"),
                "log-loss": m.get("log_loss"),
                "ECE": m.get("ece"),
                "order consistency": m.get("consistency_rate"),
                "calibration": f"v{calib['version']} {calib['method']}" if calib else "none",
            }
        )
    return rows


def _start_form() -> bool:
    """The "Run a judge" form; True when a submit showed its outcome."""
    services = common.services()
    with st.form("judge-start"):
        st.subheader("Run a judge")
        spec_text = st.text_input("Judge", value="local", help="local, hf:PATH or openai:URL")
        model = st.text_input("Served model name (openai judges)", value="")
        pairs = st.radio("Pairs", ["routed", "all"], horizontal=True)
        limit = st.number_input("At most this many pairs (0 = no limit)", min_value=0, value=0)
        if not st.form_submit_button("Start judge job"):
            return False
        try:
            spec = JudgeSpec.parse(spec_text, model=model or None)
            config = JudgeJobConfig(pairs=pairs, limit=int(limit) or None)
            job_id, n = submit_judge_job(services.store, services.runner, spec, config)
        except (JudgeSpecError, TemplateError, JudgeBusy) as exc:
            st.error(str(exc))
            return True
        if job_id is not None:
            st.success(f"Judging {n} pairs in job {job_id}; follow it on the Jobs page.")
        elif pairs == "routed" and not services.store.route_mix()["ai"]:
            st.info(
                "No pair is routed to the judge yet: route pairs on the Routing page, "
                "or choose 'all' pairs."
            )
        else:
            st.info(f"Nothing to judge: every {pairs} pair has a verdict from {spec.judge_id}.")
        return True


def render() -> None:
    common.require_admin()
    store = common.store()
    st.title("AI judge")
    st.caption(
        "Every judge is measured against human and gold labels on the same pairs. "
        "Routing trusts a judge only as far as these figures support."
    )
    submitted = _start_form()
    report = judge_report(store)
    if not report:
        if not submitted:
            st.info("No AI verdicts yet: start a judge above.")
        return
    st.dataframe(_figures_table(report), hide_index=True, use_container_width=True)
    st.subheader("Reliability")
    st.plotly_chart(
        figures.reliability_diagram(_reliability_points(report)), use_container_width=True
    )
    frame = judge_eval_frame(store)
    by_length = agreement_by(frame, "prompt_chars")
    if not by_length.empty:
        st.subheader("Agreement by prompt length")
        st.dataframe(by_length, hide_index=True, use_container_width=True)
    by_category = agreement_by(frame, "category")
    if not by_category.empty and frame["category"].notna().any():
        st.subheader("Agreement by category")
        st.dataframe(by_category, hide_index=True, use_container_width=True)
    with st.form("judge-fit"):
        st.subheader("Calibration map")
        st.caption(
            "Routing reads the latest version. A new one is fitted after every judge job and "
            "whenever enough new human labels arrived; fit one here to choose the method."
        )
        judge_id = st.selectbox("Judge", list(report))
        method = st.radio("Method", METHODS, horizontal=True)
        if st.form_submit_button("Fit a new version"):
            try:
                version = refit_calibration(store, judge_id, method)
                st.success(f"Stored {method} calibration v{version} for {judge_id}.")
            except ValueError as exc:
                st.error(str(exc))
    versions = store.judge_calibrations()
    if not versions.empty:
        st.dataframe(
            versions[["judge_id", "version", "method", "n_pairs", "created_at"]],
            hide_index=True,
        )
