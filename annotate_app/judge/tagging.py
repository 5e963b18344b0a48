"""HyPER's LLM-tagged prompt metadata: six tags per prompt from an OpenAI-compatible judge endpoint.

The tags (subject, expertise level, open-endedness, safety concern, complexity of intents, format
constraints) follow Miranda et al. 2024, "Hybrid Preferences", with fixed option sets. The model
must answer strict JSON; an answer that is not exactly that is refused (``TagParseError``) and the
prompt stays untagged: a tag is never guessed. Requests go through ``HttpJudge``'s client, so
timeouts, retries with backoff and the API key work as for verdicts.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from typing import Literal, get_args

from annotate_app.judge.http import HttpJudge, HttpJudgeConfig

Subject = Literal[
    "coding", "math", "science", "health", "business", "humanities", "creative_writing", "general"
]
Expertise = Literal["general", "basic", "expert"]
OpenEndedness = Literal["none", "low", "moderate", "high"]
YesNo = Literal["yes", "no"]
Complexity = Literal["simple", "moderate", "complex"]

# Field -> its allowed values, in the order the one-hot routing features use.
TAG_OPTIONS: dict[str, tuple[str, ...]] = {
    "subject": get_args(Subject),
    "expertise": get_args(Expertise),
    "open_endedness": get_args(OpenEndedness),
    "safety_concern": get_args(YesNo),
    "complexity": get_args(Complexity),
    "format_constraints": get_args(YesNo),
}

TAGGING_SYSTEM = (
    "You tag user prompts with metadata (prompt metadata tagging). You never answer the prompt "
    "itself. Reply with one JSON object and nothing else."
)
_INSTRUCTIONS = """Tag the user prompt below. Reply with exactly this JSON object:
{{"subject": ..., "expertise": ..., "open_endedness": ..., "safety_concern": ..., \
"complexity": ..., "format_constraints": ...}}

- subject: the subject of expertise the prompt needs, one of {subject}
- expertise: the expertise needed to judge an answer well: "general" (anyone), "basic" (basic \
domain knowledge) or "expert" (expert domain knowledge)
- open_endedness: how many good answers there are: "none" (one correct answer), "low", \
"moderate" or "high"
- safety_concern: "yes" if answering could cause harm or touches a safety-sensitive topic, else "no"
- complexity: the complexity of the user's intents: "simple", "moderate" or "complex"
- format_constraints: "yes" if the prompt asks for a specific format, length or style, else "no"

[The Start of the Prompt]
{prompt}
[The End of the Prompt]"""
_JSON_OBJECT = re.compile(r"\{.*\}", re.S)


class TagParseError(ValueError):
    """The tagger's answer is not the six tags with allowed values."""


@dataclass(frozen=True)
class PromptTags:
    subject: Subject
    expertise: Expertise
    open_endedness: OpenEndedness
    safety_concern: YesNo
    complexity: Complexity
    format_constraints: YesNo

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


def tagging_messages(prompt: str) -> list[dict]:
    subjects = ", ".join(f'"{s}"' for s in TAG_OPTIONS["subject"])
    user = _INSTRUCTIONS.format(subject=subjects, prompt=prompt)
    return [{"role": "system", "content": TAGGING_SYSTEM}, {"role": "user", "content": user}]


def parse_tags(text: str) -> PromptTags:
    """The tags in a reply: one JSON object (a ```json fence around it is allowed) with exactly the
    six fields, each one of its allowed values. Anything else raises ``TagParseError``."""
    match = _JSON_OBJECT.search(text or "")
    if match is None:
        raise TagParseError(f"no JSON object in the answer: {text[:120]!r}")
    try:
        data = json.loads(match.group(0))
    except ValueError as exc:
        raise TagParseError(f"the answer is not valid JSON ({exc}): {text[:120]!r}") from None
    if not isinstance(data, dict):
        raise TagParseError("the answer is not a JSON object")
    missing = [k for k in TAG_OPTIONS if k not in data]
    extra = [k for k in data if k not in TAG_OPTIONS]
    if missing or extra:
        raise TagParseError(f"fields missing {missing}, unexpected {extra}")
    for name, options in TAG_OPTIONS.items():
        value = data[name]
        if not isinstance(value, str) or value.strip().lower() not in options:
            raise TagParseError(f"field {name!r}: {value!r} is not one of {list(options)}")
    return PromptTags(**{k: data[k].strip().lower() for k in TAG_OPTIONS})


@dataclass
class TaggingReport:
    tagged: int = 0
    refused: list[str] = field(default_factory=list)  # "prompt_id: reason" per refused answer

    @property
    def n_refused(self) -> int:
        return len(self.refused)


class PromptTagger:
    """Tags prompts with one served model; ``tagger_id`` names it in the cache."""

    def __init__(self, config: HttpJudgeConfig) -> None:
        # JSON needs more tokens than a verdict, and logprobs are of no use here.
        config = replace(config, max_tokens=max(config.max_tokens, 200), logprobs=False)
        self.client = HttpJudge(config)
        self.tagger_id = self.client.judge_id

    def tag(self, prompt: str) -> PromptTags:
        """Raises ``TagParseError`` for a malformed answer, ``JudgeUnavailable`` when the endpoint
        keeps failing (after the client's retries)."""
        reply = self.client.post_with_retries(tagging_messages(prompt))
        try:
            text = reply["choices"][0]["message"]["content"] or ""  # type: ignore[index]
        except (KeyError, IndexError, TypeError):
            raise TagParseError("the reply has no message content") from None
        return parse_tags(text)

    def tag_all(
        self,
        prompts: list[tuple[str, str]],
        save: Callable[[str, PromptTags], None],
    ) -> TaggingReport:
        """Tag (prompt_id, text) pairs one by one, saving each tag set as soon as it is read, so an
        interrupted run keeps what it got. A refused answer is reported and left untagged."""
        report = TaggingReport()
        for prompt_id, text in prompts:
            try:
                tags = self.tag(text)
            except TagParseError as exc:
                report.refused.append(f"{prompt_id}: {exc}")
                continue
            save(prompt_id, tags)
            report.tagged += 1
        return report
