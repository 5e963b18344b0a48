"""The chat template of exported reward models is the training text format, for any conversation."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from annotate_app.reward.chat_format import chat_template, prepare_tokenizer, training_text
from annotate_app.reward.encoder import default_encoder_path


@pytest.fixture(scope="module")
def tokenizer():
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(default_encoder_path())
    prepare_tokenizer(tok, 256)
    return tok


ROLES = st.sampled_from(["user", "assistant", "system"])
TEXT = st.text(min_size=1, max_size=40)
WORDS = st.text(alphabet="abc XYZ,.!?\n'{}%#<>&", min_size=1, max_size=40)


def _conversation(text):
    turns = st.lists(
        st.fixed_dictionaries({"role": ROLES, "content": text}), min_size=1, max_size=4
    )
    return st.tuples(turns, text).map(lambda t: [*t[0], {"role": "assistant", "content": t[1]}])


@settings(max_examples=200, deadline=None)
@given(messages=_conversation(TEXT))
def test_the_template_renders_the_training_text(tokenizer, messages) -> None:
    rendered = tokenizer.apply_chat_template(
        messages, tokenize=False, chat_template=chat_template()
    )
    assert rendered == training_text(messages)


@settings(max_examples=100, deadline=None)
@given(messages=_conversation(WORDS))
def test_template_token_ids_are_the_training_token_ids(tokenizer, messages) -> None:
    got = tokenizer.apply_chat_template(messages, tokenize=True, return_dict=True)["input_ids"]
    assert got == tokenizer(training_text(messages))["input_ids"]


def test_minilm_gets_an_eos_token_and_left_truncation(tokenizer) -> None:
    assert tokenizer.eos_token == "[SEP]" and tokenizer.pad_token == "[PAD]"
    assert tokenizer.truncation_side == "left" and tokenizer.model_max_length == 256
    one_turn = [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}]
    assert tokenizer.apply_chat_template(one_turn, tokenize=False) == (
        "[CLS]Hi\n\nAssistant: Hello[SEP]"
    )


def test_an_unknown_role_is_named(tokenizer) -> None:
    with pytest.raises(Exception, match="unknown role tool"):
        tokenizer.apply_chat_template(
            [{"role": "tool", "content": "x"}, {"role": "assistant", "content": "y"}],
            tokenize=False,
        )
