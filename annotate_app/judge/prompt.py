"""The judge prompt: an MT-Bench-style impartial pairwise template, with the project's guidelines as
the criteria. A project overrides any part of it with the ``judge_template`` setting.

The verdict comes first (``[[A]]``/``[[B]]``/``[[C]]``), before any explanation, so that the very
next token after ``[[`` carries the decision: a local model's logits and a server's logprobs are
read at that one position instead of after free text.
"""

from __future__ import annotations

import string
from dataclasses import asdict, dataclass

from annotate_app.judge.protocol import Comparison

DEFAULT_CRITERIA = (
    "helpfulness, relevance, accuracy, depth, harmlessness and level of detail of the responses"
)

DEFAULT_SYSTEM = (
    "Please act as an impartial judge and evaluate the quality of the responses provided by two AI "
    "assistants to the conversation displayed below. Choose the assistant that follows the user's "
    "instructions and answers the user's last message better. Judge by these criteria:\n"
    "{criteria}\n\n"
    "Avoid any position bias: the order in which the responses are presented must not influence "
    "your decision. Do not let the length of the responses influence you. Do not favour certain "
    "names of the assistants. Be as objective as possible. Begin your reply with your final "
    'verdict in exactly this format: "[[A]]" if assistant A is better, "[[B]]" if assistant B is '
    'better, and "[[C]]" for a tie. Then give a one-sentence explanation.'
)

DEFAULT_USER = (
    "[The Start of the Conversation]\n{conversation}\n[The End of the Conversation]\n\n"
    "[The Start of Assistant A's Answer]\n{answer_a}\n[The End of Assistant A's Answer]\n\n"
    "[The Start of Assistant B's Answer]\n{answer_b}\n[The End of Assistant B's Answer]"
)

SYSTEM_FIELDS = {"criteria"}
USER_FIELDS = {"conversation", "answer_a", "answer_b"}


class TemplateError(ValueError):
    """A ``judge_template`` setting that cannot be used, with what is wrong in it."""


@dataclass(frozen=True)
class JudgeTemplate:
    system: str = DEFAULT_SYSTEM
    user: str = DEFAULT_USER
    prefill: str = "[["  # the local judge reads the next token after this assistant prefix
    max_conversation_chars: int = 2000  # keep the end: the last user turn matters most
    max_answer_chars: int = 1200  # keep the start of each answer

    def __post_init__(self) -> None:
        for name, text, allowed, required in (
            ("system", self.system, SYSTEM_FIELDS, set()),
            ("user", self.user, USER_FIELDS, USER_FIELDS),
        ):
            try:
                used = {f for _, f, _, _ in string.Formatter().parse(text) if f is not None}
            except ValueError as exc:
                raise TemplateError(f"judge_template.{name}: {exc}") from None
            if used - allowed:
                raise TemplateError(
                    f"judge_template.{name}: unknown placeholders {sorted(used - allowed)}; "
                    f"allowed: {sorted(allowed)}"
                )
            if required - used:
                raise TemplateError(
                    f"judge_template.{name}: missing placeholders {sorted(required - used)}"
                )

    @classmethod
    def from_setting(cls, value: dict | str | None) -> JudgeTemplate:
        """The setting is a dict of overrides, or a bare string replacing the user message."""
        if value is None:
            return cls()
        if isinstance(value, str):
            return cls(user=value)
        if not isinstance(value, dict):
            raise TemplateError("judge_template must be a JSON object or a string")
        unknown = set(value) - set(asdict(cls()))
        if unknown:
            raise TemplateError(f"judge_template: unknown keys {sorted(unknown)}")
        return cls(**value)

    def to_dict(self) -> dict:
        return asdict(self)

    def messages(self, comparison: Comparison, guidelines: str | None) -> list[dict]:
        criteria = (guidelines or "").strip() or DEFAULT_CRITERIA
        return [
            {"role": "system", "content": self.system.format(criteria=criteria)},
            {
                "role": "user",
                "content": self.user.format(
                    conversation=_tail(
                        render_conversation(comparison.turns), self.max_conversation_chars
                    ),
                    answer_a=_head(comparison.first, self.max_answer_chars),
                    answer_b=_head(comparison.second, self.max_answer_chars),
                ),
            },
        ]


def render_conversation(turns: list[dict]) -> str:
    names = {"user": "User", "assistant": "Assistant", "system": "System"}
    return "\n\n".join(f"{names.get(t['role'], t['role'])}: {t['content']}" for t in turns)


def _head(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit] + " [...]"


def _tail(text: str, limit: int) -> str:
    return text if len(text) <= limit else "[...] " + text[-limit:]
