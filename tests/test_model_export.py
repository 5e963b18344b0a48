"""Exported reward models open with ``AutoModelForSequenceClassification`` and score like the app.

One real project (a few labeled and open pairs, one- and multi-turn prompts) is trained twice by
the real train job, head mode (a head with weight decay 10 and its out-of-fold logit scale) and
finetune mode (a couple of steps), then exported. Each folder is
loaded by transformers alone; conversations go through the folder's chat template, and the rewards
and p(A>B) must equal what the app computed, within 1e-5. TRL's RewardTrainer then continues
training each folder on the app's own preference export.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from annotate_app.active.select import ActiveConfig
from annotate_app.config import ProjectPaths
from annotate_app.export.model import export_model
from annotate_app.ingest import ImportOptions, import_file
from annotate_app.jobs import JobRunner
from annotate_app.reward.chat_format import training_text
from annotate_app.reward.config import FinetuneConfig, HeadChoiceConfig, HeadConfig, TrainConfig
from annotate_app.reward.encoder import Encoder, EncoderConfig
from annotate_app.reward.jobs import start_training
from annotate_app.store import Store

SYSTEM = {"role": "system", "content": "You are a careful cook."}
LABELED = [
    ("How do I boil an egg?", "Put it in boiling water for 8 minutes.", "No idea."),
    ("What is the capital of France?", "Paris.", "Figure it out yourself."),
    (
        [SYSTEM, {"role": "user", "content": "Hi!"}, {"role": "assistant", "content": "Hello."}]
        + [{"role": "user", "content": "How long do I rest a steak?"}],
        "About five minutes, loosely covered.",
        "Whatever.",
    ),
    ("Name a prime number.", "Seven is prime.", "Ten."),
    ("When does water boil?", "At 100 degrees Celsius at sea level.", "Ask someone else."),
    ("Say hello in Spanish.", "Hola.", "I won't."),
]
OPEN = [
    ("How do I boil an egg?", "Eight minutes in boiling water.", "Eggs are round."),
    (
        [SYSTEM, {"role": "user", "content": "Is salt needed for pasta water?"}],
        "Yes, it seasons the pasta from within.",
        "No.",
    ),
    ("Translate 'cat' to French.", "Chat.", "Hund."),
]


def _messages(turns_json: str, response: str) -> list[dict]:
    return [*json.loads(turns_json), {"role": "assistant", "content": response}]


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """Head and finetune versions, trained by the real worker on the same labels."""
    root = tmp_path_factory.mktemp("rm-export")
    labeled, open_pairs = root / "labeled.jsonl", root / "open.jsonl"
    labeled.write_text(
        "".join(json.dumps({"prompt": p, "chosen": c, "rejected": r}) + "\n" for p, c, r in LABELED)
    )
    open_pairs.write_text(
        "".join(
            json.dumps({"prompt": p, "response_a": a, "response_b": b}) + "\n" for p, a, b in OPEN
        )
    )
    with pytest.MonkeyPatch.context() as env:
        env.setenv("HF_HUB_OFFLINE", "1")
        env.setenv("TRANSFORMERS_OFFLINE", "1")
        store = Store(ProjectPaths(db=root / "project.duckdb", work_dir=root / "work"))
        import_file(store, labeled, ImportOptions())
        import_file(store, open_pairs, ImportOptions())
        runner = JobRunner(store)
        encoder = EncoderConfig(device="cpu")
        versions = {}
        for mode in ("head", "finetune"):
            config = TrainConfig(
                mode=mode,
                encoder=encoder,
                head=HeadConfig(members=3, min_steps=40, max_steps=40),
                # head mode: a regularised head whose logit scale, fitted on out-of-fold
                # probabilities, is folded into the weights the export copies
                head_choice=HeadChoiceConfig(variants=("decay10",), folds=3, min_labels=6),
                finetune=FinetuneConfig(max_steps=2, batch_size=2, lr=1e-4, device="cpu"),
            )
            runner.wait(start_training(store, runner, config, ActiveConfig("random", batch=2)))
            versions[mode] = store.active_model()
        yield store, versions, root
        store.close()


@pytest.fixture(scope="module")
def exported(project):
    """Each version exported once, the way ``annotate export-model`` does."""
    store, versions, root = project
    return {
        mode: export_model(store, v["id"], root / f"export-{mode}") for mode, v in versions.items()
    }


def _open_pairs(store):
    pairs = store.pairs_frame(store.open_pair_ids())
    assert len(pairs) == len(OPEN)
    return pairs


def _load(folder: Path):
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    model = AutoModelForSequenceClassification.from_pretrained(folder, trust_remote_code=True)
    return model.eval(), AutoTokenizer.from_pretrained(folder, trust_remote_code=True)


@torch.no_grad()
def _template_scores(model, tokenizer, conversations: list[list[dict]]):
    """Each conversation alone through the chat template, as TRL tokenizes them."""
    logits, members = [], []
    for messages in conversations:
        batch = tokenizer.apply_chat_template(messages, return_dict=True, return_tensors="pt")
        out = model(**batch)
        logits.append(out.logits.squeeze(-1))
        if "member_rewards" in out:
            members.append(out.member_rewards)
    return (
        torch.cat(logits).numpy(),
        torch.cat(members, dim=1).numpy() if members else None,
    )


def test_head_export_is_one_self_contained_automodel_that_scores_like_the_app(project, exported):
    from safetensors import safe_open

    from annotate_app.reward.head import BTEnsemble

    store, versions, _ = project
    version = versions["head"]
    choice = version["metrics"]["head_choice"]
    assert choice["variant"] == "decay10" and abs(np.log(choice["logit_scale"])) > 0.01
    folder = exported["head"]
    config = json.loads((folder / "config.json").read_text())
    assert config["auto_map"]["AutoModelForSequenceClassification"].endswith("BTHeadRewardModel")
    assert len(config["id2label"]) == 1 and config["pooling"] == "mean"
    with safe_open(folder / "model.safetensors", "pt") as weights:
        keys = set(weights.keys())
    assert "encoder.embeddings.word_embeddings.weight" in keys and "w1" in keys
    for code in folder.glob("*.py"):  # the shipped code needs torch and transformers only
        assert "annotate_app" not in code.read_text()
    assert json.loads((folder / "reward_config.json").read_text())["mode"] == "head"

    model, tokenizer = _load(folder)
    assert tokenizer.eos_token == "[SEP]" and tokenizer.chat_template
    assert config["eos_token_id"] == tokenizer.eos_token_id  # TRL finds model and tokenizer agree
    pairs = _open_pairs(store)
    conv_a = [_messages(t, r) for t, r in zip(pairs["turns"], pairs["text_a"], strict=True)]
    conv_b = [_messages(t, r) for t, r in zip(pairs["turns"], pairs["text_b"], strict=True)]
    reward_a, members_a = _template_scores(model, tokenizer, conv_a)
    reward_b, members_b = _template_scores(model, tokenizer, conv_b)

    # the app's rewards: its encoder on its training text, then the saved ensemble head
    head = BTEnsemble.load(Path(version["path"]))
    texts = [training_text(m) for m in conv_a + conv_b]
    app = head.rewards(Encoder(EncoderConfig(device="cpu")).embed(texts)).mean(0)
    np.testing.assert_allclose(np.concatenate([reward_a, reward_b]), app, atol=1e-5, rtol=0)
    # and the app's stored p(A>B): the ensemble mean of each member's probability
    p_a = (1.0 / (1.0 + np.exp(-(members_a - members_b)))).mean(0)
    stored = store.pair_scores(version["id"]).set_index("pair_id").loc[pairs["pair_id"], "p_a"]
    np.testing.assert_allclose(p_a, stored.to_numpy(), atol=1e-5, rtol=0)
    assert np.ptp(reward_a) > 0  # the scores depend on the text


def test_finetune_export_scores_like_the_app(project, exported):
    from annotate_app.reward.finetune import score_texts

    store, versions, _ = project
    version = versions["finetune"]
    folder = exported["finetune"]
    assert "auto_map" not in json.loads((folder / "config.json").read_text())  # a standard model
    model, tokenizer = _load(folder)
    assert tokenizer.eos_token == "[SEP]" and tokenizer.truncation_side == "left"

    pairs = _open_pairs(store)
    conv_a = [_messages(t, r) for t, r in zip(pairs["turns"], pairs["text_a"], strict=True)]
    conv_b = [_messages(t, r) for t, r in zip(pairs["turns"], pairs["text_b"], strict=True)]
    reward_a, _ = _template_scores(model, tokenizer, conv_a)
    reward_b, _ = _template_scores(model, tokenizer, conv_b)
    texts = [training_text(m) for m in conv_a + conv_b]
    app = score_texts(version["path"], texts, device="cpu")
    np.testing.assert_allclose(np.concatenate([reward_a, reward_b]), app, atol=1e-5, rtol=0)
    p_a = 1.0 / (1.0 + np.exp(-(reward_a - reward_b)))
    stored = store.pair_scores(version["id"]).set_index("pair_id").loc[pairs["pair_id"], "p_a"]
    np.testing.assert_allclose(p_a, stored.to_numpy(), atol=1e-5, rtol=0)


@pytest.mark.parametrize("mode", ["head", "finetune"])
def test_trl_reward_trainer_continues_training_an_export(project, exported, tmp_path, mode):
    pytest.importorskip("trl", reason="trl (the dev extra) is not installed")
    from datasets import Dataset
    from safetensors.torch import load_file
    from trl import RewardConfig, RewardTrainer

    from annotate_app.export.preferences import export_dataset

    store, _, _ = project
    folder = exported[mode]
    data = tmp_path / "prefs.jsonl"
    report = export_dataset(store, data, "dpo-jsonl")
    assert report.conversational  # a multi-turn prompt makes every row chat messages
    rows = [json.loads(line) for line in data.read_text().splitlines()]
    dataset = Dataset.from_list([{k: r[k] for k in ("prompt", "chosen", "rejected")} for r in rows])
    args = RewardConfig(
        output_dir=str(tmp_path / "trl"),
        max_steps=1,  # one optimizer step shows the export trains on; a second adds nothing
        per_device_train_batch_size=2,
        learning_rate=1e-3,
        use_cpu=True,
        bf16=False,
        gradient_checkpointing=False,
        trust_remote_code=True,
        max_length=256,
        report_to="none",
        save_strategy="no",
        logging_steps=1,
    )
    trainer = RewardTrainer(model=str(folder), args=args, train_dataset=dataset)
    # TRL tokenized the rows with our template: the first row's ids are the app's training text's
    first = trainer.train_dataset[0]
    chosen = [*rows[0]["prompt"], *rows[0]["chosen"]]
    assert first["chosen_ids"] == trainer.processing_class(training_text(chosen))["input_ids"]
    before = {k: v.clone() for k, v in trainer.model.state_dict().items()}
    trainer.train()
    assert trainer.state.global_step == 1
    assert np.isfinite(trainer.state.log_history[-1]["train_loss"])
    trainer.save_model(str(tmp_path / "continued"))
    after = load_file(tmp_path / "continued" / "model.safetensors")
    assert any(not torch.equal(before[k], after[k]) for k in after if k in before)
    _load(tmp_path / "continued")  # the continued model opens like the export did


def test_a_failed_export_leaves_nothing(project, tmp_path, monkeypatch):
    store, versions, root = project
    version = dict(versions["head"])
    broken = root / "broken-version"
    shutil.rmtree(broken, ignore_errors=True)
    shutil.copytree(version["path"], broken)
    spec = json.loads((broken / "train_config.json").read_text())
    spec["features"]["length"] = True
    (broken / "train_config.json").write_text(json.dumps(spec))
    version["path"] = str(broken)
    monkeypatch.setattr(store, "model_version", lambda _: version)
    dest = tmp_path / "out" / "rm"
    with pytest.raises(ValueError, match="reply length"):
        export_model(store, "broken", dest)
    assert not dest.exists() and list((tmp_path / "out").iterdir()) == []


def test_a_failed_training_keeps_the_last_good_model(project):
    store, _, _ = project
    runner = JobRunner(store)
    before = store.active_model()
    config = TrainConfig(
        mode="finetune",
        encoder=EncoderConfig(device="cpu"),
        finetune=FinetuneConfig(base=str(Path(before["path"]) / "missing"), device="cpu"),
    )
    job = runner.wait(start_training(store, runner, config), raise_on_failure=False)
    assert job["status"] == "failed" and "missing" in job["error"]
    assert store.active_model()["id"] == before["id"]
    models_dir = Path(before["path"]).parent
    assert sorted(p.name for p in models_dir.iterdir()) == sorted(
        Path(p).name for p in store.model_versions_frame()["path"]
    )  # no half-written version folder either
