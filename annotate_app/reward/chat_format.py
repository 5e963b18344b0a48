"""The text a reward model reads, written down as the chat template of every saved model folder.

Training reads ``response_text(render_turns(turns), response)``: the bare question for a one-turn
prompt, role-tagged turns ("User: ...", "System: ...") otherwise, then "\\n\\nAssistant: " and the
response. The Jinja template below renders exactly that from a messages list (the prompt's turns and
the assistant's response as the last message), wrapped in the special tokens the tokenizer adds on
its own. ``apply_chat_template`` tokenizes without adding special tokens, so with the template,
``apply_chat_template(messages, tokenize=True)`` yields the token ids the app scored, which is what
TRL's ``RewardTrainer`` does with conversational data. ``check_template`` proves it on probe
conversations before a folder is written.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

ROLE_NAMES = {"user": "User", "assistant": "Assistant", "system": "System"}


def chat_template(prefix: str = "", suffix: str = "") -> str:
    """The training text format as Jinja; ``prefix``/``suffix`` are special tokens around it."""
    names = ", ".join(f"{json.dumps(k)}: {json.dumps(v)}" for k, v in ROLE_NAMES.items())
    # One-turn prompts were trained as the bare question: the first message loses its role tag
    # when it is the lone user turn, alone or followed by the scored response.
    return "".join(
        [
            "{%- set names = {" + names + "} -%}",
            "{%- set n = messages | length -%}",
            "{%- set bare = messages[0]['role'] == 'user' and (n == 1 or (n == 2 and "
            "messages[1]['role'] == 'assistant')) -%}",
            "{{- " + json.dumps(prefix) + " -}}",
            "{%- for m in messages -%}",
            "{%- if m['role'] not in names -%}",
            "{{- raise_exception('unknown role ' ~ m['role'] ~ '; use user, assistant or system') -}}",
            "{%- endif -%}",
            "{%- if not loop.first -%}{{- '\\n\\n' -}}{%- endif -%}",
            "{%- if loop.first and bare -%}{{- m['content'] -}}",
            "{%- else -%}{{- names[m['role']] ~ ': ' ~ m['content'] -}}{%- endif -%}",
            "{%- endfor -%}",
            "{%- if add_generation_prompt -%}{{- '\\n\\nAssistant: ' -}}{%- endif -%}",
            "{{- " + json.dumps(suffix) + " -}}",
        ]
    )


@dataclass(frozen=True)
class SpecialAffixes:
    """The special tokens a tokenizer puts around a text by itself ([CLS] ... [SEP] for BERT)."""

    prefix: str
    suffix: str


def special_affixes(tokenizer) -> SpecialAffixes:
    probe = "probe text"
    with_special = tokenizer(probe)["input_ids"]
    bare = tokenizer(probe, add_special_tokens=False)["input_ids"]
    for start in range(len(with_special) - len(bare) + 1):
        if with_special[start : start + len(bare)] == bare:
            before = with_special[:start]
            after = with_special[start + len(bare) :]
            return SpecialAffixes(
                "".join(tokenizer.convert_ids_to_tokens(before)),
                "".join(tokenizer.convert_ids_to_tokens(after)),
            )
    raise ValueError(
        f"{type(tokenizer).__name__} changes a text's own tokens when it adds special tokens; "
        "the training text format cannot be written as a chat template for it"
    )


def prepare_tokenizer(tokenizer, max_length: int) -> None:
    """Give ``tokenizer`` the training format (chat template), an eos token, left truncation at
    ``max_length`` (the response, which differs between A and B, survives), then check the
    template. An encoder without an eos token (BERT) ends a text with [SEP], so that becomes it."""
    affixes = special_affixes(tokenizer)
    if tokenizer.eos_token is None:
        eos = tokenizer.sep_token or affixes.suffix or None
        if eos is None:
            raise ValueError(
                f"{type(tokenizer).__name__} has no eos, sep or end token to name as eos_token"
            )
        tokenizer.eos_token = eos
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    tokenizer.chat_template = chat_template(affixes.prefix, affixes.suffix)
    tokenizer.truncation_side = "left"
    tokenizer.model_max_length = max_length
    check_template(tokenizer)


PROBES: list[list[dict[str, str]]] = [
    [
        {"role": "user", "content": "How do I boil an egg?"},
        {"role": "assistant", "content": "Put it in boiling water for 8 minutes."},
    ],
    [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hi!\n\nWho are you?"},
        {"role": "assistant", "content": "An assistant."},
        {"role": "user", "content": "Name a colour."},
        {"role": "assistant", "content": " Blue, with spaces & <tags> "},
    ],
]


def training_text(messages: list[dict[str, str]]) -> str:
    """What training read for a conversation whose last message is the scored response."""
    from annotate_app.ingest.importer import render_turns
    from annotate_app.reward.encoder import response_text

    *turns, reply = messages
    return response_text(render_turns(turns), reply["content"])


def check_template(tokenizer) -> None:
    """The template's token ids equal the ids of the training text, for every probe."""
    for messages in PROBES:
        want = tokenizer(training_text(messages))["input_ids"]
        got = tokenizer.apply_chat_template(messages, tokenize=True, return_dict=True)
        if list(got["input_ids"]) != list(want):
            raise ValueError(
                f"the chat template of {type(tokenizer).__name__} does not reproduce the training "
                f"text for {messages!r}: {got['input_ids']} != {want}"
            )
