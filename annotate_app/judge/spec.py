"""Judge specs as users write them: ``local``, ``hf:PATH``, ``openai:URL`` (with ``--model``).

Parsing is cheap and import-free, so the parent (CLI, app) can name a judge and know its id without
loading torch; ``build`` runs in the worker.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from annotate_app.judge.prompt import JudgeTemplate
from annotate_app.judge.protocol import Judge


def local_judge_id(model_path: str | None) -> str:
    return "local:smollm2-135m-instruct-q4_1" if model_path is None else f"hf:{model_path}"


def http_judge_id(url: str, model: str) -> str:
    return f"openai:{model}@{url.rstrip('/')}"


class JudgeSpecError(ValueError):
    """A judge spec that names no usable judge."""


@dataclass(frozen=True)
class JudgeSpec:
    kind: str  # "local" | "hf" | "openai"
    target: str | None = None  # the HF path/name, or the server URL
    model: str | None = None  # the served model name (openai)
    options: dict = field(default_factory=dict)  # LocalJudgeConfig / HttpJudgeConfig fields

    @classmethod
    def parse(cls, text: str, model: str | None = None, **options: object) -> JudgeSpec:
        text = (text or "local").strip()
        if text == "local":
            return cls("local", None, model, dict(options))
        kind, sep, target = text.partition(":")
        if not sep or not target.strip():
            raise JudgeSpecError(
                f"judge spec {text!r}: expected 'local', 'hf:PATH' or 'openai:URL'"
            )
        if kind == "hf":
            return cls("hf", target.strip(), model, dict(options))
        if kind == "openai":
            if not target.startswith(("http://", "https://")):
                raise JudgeSpecError(f"judge spec {text!r}: the URL must start with http(s)://")
            if not model:
                raise JudgeSpecError("an openai judge needs the served model name (--model NAME)")
            return cls("openai", target.strip(), model, dict(options))
        raise JudgeSpecError(f"judge spec {text!r}: unknown kind {kind!r} (local, hf, openai)")

    @property
    def judge_id(self) -> str:
        """The annotator name of this judge's labels: one id per model, whatever the run."""
        if self.kind == "openai":
            return http_judge_id(self.target or "", self.model or "")
        return local_judge_id(self.target)

    def to_dict(self) -> dict:
        return {
            "kind": self.kind,
            "target": self.target,
            "model": self.model,
            "options": self.options,
        }

    @classmethod
    def from_dict(cls, data: dict) -> JudgeSpec:
        return cls(data["kind"], data.get("target"), data.get("model"), data.get("options") or {})

    def build(self, template: JudgeTemplate, guidelines: str | None) -> Judge:
        """The judge itself; loads model code, so only workers and benchmarks call it."""
        if self.kind == "openai":
            from annotate_app.judge.http import HttpJudge, HttpJudgeConfig

            config = HttpJudgeConfig(url=self.target or "", model=self.model or "", **self.options)
            return HttpJudge(config, template, guidelines)
        from annotate_app.judge.local import LocalJudge, LocalJudgeConfig

        config = LocalJudgeConfig(model_path=self.target, **self.options)
        return LocalJudge(config, template, guidelines)
