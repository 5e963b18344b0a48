"""Routing (admin): choose the policy and the human budget, preview the routes with their reasons,
apply them; the current route mix, spend against budget, and what drives the learned router."""

from __future__ import annotations

from dataclasses import replace

import streamlit as st

from annotate_app.routing import plan as routing_plan
from annotate_app.routing.budget import BudgetConfig
from annotate_app.routing.policies import POLICIES
from annotate_app.ui import common

PREVIEW_KEY = "routing-preview"
PROMPT_CHARS = 80  # of the prompt in the preview table
HELP_PACE = (
    "Pace releases the human budget as the pool fills: with 1,000 expected pairs and 200 so far, "
    "a fifth of the budget may be spent now, so the first pairs cannot use it all. 0 releases "
    "all of it at once."
)
HELP_TRUST = (
    "P(right) is the chance that the judge's verdict matches what people would say, read from "
    "its calibration against human labels. Pairs where it is at least this high go to the judge."
)
HELP_EPSILON = (
    "ε (epsilon) is the share of pairs the learned router sends to a random route, so it keeps "
    "seeing how the judge does on pairs it would not pick; 0 never explores."
)
LEGEND = """
- **Policies.** *all-human* / *all-ai*: everything to one side. *random*: humans get a random
  draw within the budget. *confidence*: the judge takes a pair when its calibrated **P(right)** is
  at least the trust threshold. *value*: humans get the pairs where a human label is worth most
  (judge likely wrong, reward model unsure). *learned*: a model trained on pairs with both a verdict
  and a human label predicts where the judge goes wrong.
- **P(right)**: the chance the judge agrees with people on this pair, from its calibration.
- **bald** (Bayesian active learning by disagreement): the reward model's members disagree about
  this pair, so a label on it teaches the model most. **acquisition:bald** in a reason means the
  queue order came from that score after the last training.
- **ε** (epsilon): the learned router's share of random routes, so it keeps learning.
- **pace**: how much of the human budget is released so far (see the field's help).
- **hold**: nobody labels the pair for now (e.g. the judge contradicted itself), until it is routed
  again.
"""

# Measured with bench/bench_routing_real.py (docs/benchmarks.md, "Routing on real judges").
CHOOSING = """
**Which policy, in plain words.** Send people the pairs where the judge is most likely wrong
(*confidence*), unless the judge has no track record here yet.

- Measured on 939 PandaLM pairs with three annotators each and two real judges, at a quarter of
  the pairs labeled by people: **GPT-3.5** alone was right on 80.1% of them, random routing gave
  84.3%, *confidence* 88.2% (+3.9 points over random). With **PandaLM-7B**: 75.1% alone, random
  79.5%, *confidence* 86.4% (+6.9). *learned* was within half a point of *confidence*; *value* was
  1-2 points behind on labels, because it also spends people on what the reward model is unsure of.
- A perfect router (one that knew every wrong verdict) would have reached 98.6%: routing by
  features recovers about a third of what is possible. The strongest sign that a verdict is wrong
  is a **second judge disagreeing** with it.
- A judge that gives only a verdict (no probability, like GPT-3.5 through a chat API) cannot be
  calibrated by its own confidence. *confidence* then estimates P(right) from the pair's features
  once people have labeled about 30 of its pairs, and says so in every reason.
- With a tenth of the pairs for people, no policy gained more than about 2 points over random:
  the router needs human labels before it knows anything.
"""


def _config_form(config: routing_plan.RoutingConfig) -> routing_plan.RoutingConfig:
    left, mid, right = st.columns(3)
    policy = left.selectbox(
        "Policy", POLICIES, index=POLICIES.index(config.policy.name), key="rt-policy"
    )
    as_count = mid.toggle(
        "Budget as a count of labels", value=config.budget.human_budget > 1, key="rt-count"
    )
    if as_count:
        budget = float(
            mid.number_input(
                "Human labels",
                min_value=0,
                step=10,
                key="rt-budget-n",
                value=int(max(config.budget.human_budget, 0))
                if config.budget.human_budget > 1
                else 100,
            )
        )
    else:
        budget = mid.slider(
            "Human budget (share of pairs)",
            0.0,
            1.0,
            key="rt-budget-f",
            value=float(min(config.budget.human_budget, 1.0)),
            step=0.05,
        )
    expected = right.number_input(
        "Pace over this many pairs (0: pairs so far)",
        min_value=0,
        help=HELP_PACE,
        step=100,
        key="rt-expected",
        value=int(config.budget.expected_pairs or 0),
    )
    c1, c2, c3, c4 = st.columns(4)
    cost_human = c1.number_input(
        "Cost per human label",
        min_value=0.0,
        key="rt-cost-h",
        value=float(config.budget.cost_human),
    )
    cost_judge = c2.number_input(
        "Cost per judge verdict",
        min_value=0.0,
        key="rt-cost-j",
        value=float(config.budget.cost_judge),
        format="%.4f",
    )
    trust = c3.slider(
        "Trust the judge at P(right) >=",
        0.5,
        1.0,
        help=HELP_TRUST,
        key="rt-trust",
        value=float(config.policy.trust_threshold),
        step=0.05,
    )
    epsilon = c4.slider(
        "ε (learned: random share)",
        0.0,
        0.5,
        help=HELP_EPSILON,
        key="rt-eps",
        value=float(config.policy.router.epsilon),
        step=0.05,
    )
    escalate = st.checkbox(
        "Escalate inconsistent or contradicted AI labels to humans",
        value=config.escalate,
        key="rt-escalate",
    )
    return routing_plan.RoutingConfig(
        policy=replace(
            config.policy,
            name=policy,
            trust_threshold=trust,
            router=replace(config.policy.router, epsilon=epsilon),
        ),
        budget=BudgetConfig(
            human_budget=budget,
            expected_pairs=int(expected) or None,
            horizon_hours=config.budget.horizon_hours,
            cost_human=cost_human,
            cost_judge=cost_judge,
        ),
        escalation=config.escalation,
        escalate=escalate,
    )


def _budget_warnings(plan: routing_plan.RoutingPlan, queued: int) -> bool:
    """Say loudly when the budget is spent or the plan empties the human queue; True when applying
    it needs an explicit confirmation."""
    spend = plan.spend
    if spend.budget_labels and spend.human_labels >= spend.budget_labels:
        st.warning(
            f"**The human budget is spent:** {spend.human_labels} human labels given of "
            f"{spend.budget_labels} allowed. This plan sends no more pairs to people. Raise the "
            "budget above, or accept that the judge and the hold pile take the rest.",
            icon=":material/warning:",
        )
    elif plan.allowance == 0 and len(plan.routes):
        st.warning(
            "No human labels may be spent now (the paced budget is used up until more pairs "
            "arrive): this plan sends nothing to people.",
            icon=":material/warning:",
        )
    empties = plan.mix()["human"] == 0 and queued > 0
    if empties:
        st.error(
            f"Applying this plan **empties the human queue**: the {queued} pairs waiting for "
            "annotators go to the judge or on hold. Tick the confirmation below to apply anyway.",
            icon=":material/block:",
        )
    return empties


def _show_plan(store, plan: routing_plan.RoutingPlan) -> None:
    mix = plan.mix()
    a, b, c, d = st.columns(4)
    a.metric("To humans", mix["human"])
    b.metric("To the judge", mix["ai"])
    c.metric("Held", mix["hold"])
    d.metric("Escalated", plan.n_escalated)
    st.caption(
        f"{plan.allowance} human labels allowed now of {plan.spend.budget_labels} in all; "
        f"judge {plan.calibration}."
    )
    routes = plan.routes.sort_values("priority", ascending=False)
    prompts = store.pairs_frame(routes["pair_id"].tolist()).set_index("pair_id")["prompt"]
    routes = routes.assign(prompt=routes["pair_id"].map(prompts).map(_short))
    st.dataframe(
        routes[["prompt", "route", "priority", "reason", "explore"]],
        hide_index=True,
        key="rt-preview-table",
    )
    if not plan.importances.empty:
        st.subheader("Learned router: what drives it")
        st.bar_chart(plan.importances.rename("weight"), horizontal=True, key="rt-importances")


def _short(text: object) -> str:
    flat = " ".join(str(text).split())
    return flat if len(flat) <= PROMPT_CHARS else flat[: PROMPT_CHARS - 1] + "…"


def render() -> None:
    common.require_admin()
    store = common.store()
    st.title("Routing")
    saved = routing_plan.load_config(store)
    try:
        config = _config_form(saved)
    except ValueError as exc:
        st.error(str(exc))
        return

    with st.expander("What these words mean"):
        st.markdown(LEGEND)
    with st.expander("Which policy? What was measured"):
        st.markdown(CHOOSING)
    preview_col, apply_col = st.columns(2)
    if preview_col.button("Preview routes", key="rt-preview", type="secondary"):
        st.session_state[PREVIEW_KEY] = routing_plan.preview(store, config)
    plan = st.session_state.get(PREVIEW_KEY)
    if plan is not None and plan.config != config:
        st.info("The settings changed since the preview; preview again before applying.")
        plan = None
    confirmed = True
    if plan is not None and _budget_warnings(plan, store.route_mix()["human"]):
        confirmed = st.checkbox(
            "I understand: apply this plan and empty the human queue", key="rt-confirm-empty"
        )
    if apply_col.button(
        "Apply routes", key="rt-apply", type="primary", disabled=plan is None or not confirmed
    ):
        run_id = routing_plan.apply(store, plan)
        routing_plan.save_config(store, config)
        st.session_state.pop(PREVIEW_KEY, None)
        st.success(f"Applied routing run {run_id}; the policy and budget are saved.")
        plan = None
    if plan is not None:
        _show_plan(store, plan)

    st.subheader("Current routes")
    mix = store.route_mix()
    a, b, c = st.columns(3)
    a.metric("Human queue", mix["human"])
    b.metric("Judge", mix["ai"])
    c.metric("Held", mix["hold"])
    current = store.route_list(limit=200)
    st.dataframe(
        current.assign(prompt=current["prompt"].map(_short))[
            ["prompt", "route", "priority", "policy", "reason", "created_at"]
        ],
        hide_index=True,
        key="rt-current",
    )

    st.subheader("Spend against budget")
    spend = routing_plan.current_spend(store)
    a, b, c = st.columns(3)
    a.metric(
        "Human labels",
        f"{spend.human_labels} / {spend.budget_labels}",
        help=f"cost {spend.human_cost:.2f}",
    )
    b.metric("Judge verdicts", spend.judge_calls, help=f"cost {spend.judge_cost:.2f}")
    c.metric("Total cost", f"{spend.total:.2f}")
    if spend.budget_labels:
        st.progress(min(1.0, spend.human_labels / spend.budget_labels), text="human budget used")
    st.subheader("Routing history")
    st.dataframe(store.routing_runs(), hide_index=True, key="rt-runs")
