"""Every project setting in one typed object: its key, its default and its check.

The ``settings`` table of a project holds each field of ``ProjectSettings`` under the field's name,
as JSON. Code reads settings with ``load(store)`` and writes them with ``update(store, ...)`` (or
``ProjectSettings.save`` from the Settings page, which needs an admin); no other module spells a
settings key. A value that fails its check is refused before anything is written. Invite records
(``invite:<hash>``, in ``accounts.auth``) share the table but are records, not settings.

Nested settings whose shape belongs to one subsystem (the routing configuration, the judge
template) are stored as that subsystem's own dict and checked by its own parser, so there is still
one home for each rule.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import TYPE_CHECKING, Any

from annotate_app.ingest.readers import ReadLimits

if TYPE_CHECKING:
    from annotate_app.accounts.auth import Account
    from annotate_app.store import Store

_LIMITS = ReadLimits()


@dataclass(frozen=True)
class ProjectSettings:
    # the label page and the human queue
    overlap_k: int = 1  # different annotators per pair
    gold_fraction: float = 0.0  # share of draws that are gold checks
    aspects_enabled: bool = False  # helpfulness/harmlessness/honesty ratings beside the choice
    lease_minutes: int = 30  # how long a shown pair stays reserved for its annotator
    guidelines: str = ""  # markdown shown on the label page and given to the judge
    queue_seed: str = "0"  # seeds the queue order and the gold coin
    # the loop
    retrain_every: int = 50  # new labels that start a reward-model retrain in the app; 0: never
    routing: dict | None = None  # routing.plan.RoutingConfig.as_dict(); None: its defaults
    judge_template: dict | str | None = None  # judge.prompt.JudgeTemplate overrides
    # sign-in
    project_password_hash: str | None = None  # bcrypt hash for accounts without their own
    session_idle_minutes: int = 60  # idle time after which a browser session is signed out
    # imports (ingest.readers.ReadLimits)
    import_max_bytes: int = _LIMITS.max_bytes
    import_max_line_bytes: int = _LIMITS.max_line_bytes
    import_max_rows: int = _LIMITS.max_rows

    def validate(self) -> None:
        """Raise ValueError naming the first setting that fails its check."""
        for f in fields(self):
            _check_type(f.name, getattr(self, f.name), _TYPES[f.name])
        if self.overlap_k < 1:
            raise ValueError(f"overlap_k must be 1 or more, got {self.overlap_k}")
        if not 0.0 <= self.gold_fraction <= 1.0:
            raise ValueError(f"gold_fraction must be between 0 and 1, got {self.gold_fraction}")
        if self.lease_minutes < 1:
            raise ValueError(f"lease_minutes must be 1 or more, got {self.lease_minutes}")
        if self.retrain_every < 0:
            raise ValueError(f"retrain_every must be 0 or more, got {self.retrain_every}")
        if self.session_idle_minutes < 1:
            raise ValueError(
                f"session_idle_minutes must be 1 minute or more, got {self.session_idle_minutes}"
            )
        try:
            self.read_limits().validate()
        except ValueError as exc:
            raise ValueError(f"import_{exc}") from None
        if self.routing is not None:
            from annotate_app.routing.plan import RoutingConfig

            try:
                RoutingConfig.from_dict(self.routing)
            except (TypeError, ValueError) as exc:
                raise ValueError(f"routing: {exc}") from None
        if self.judge_template is not None:
            from annotate_app.judge.prompt import JudgeTemplate

            JudgeTemplate.from_setting(self.judge_template)  # TemplateError names the part

    @classmethod
    def load(cls, store: Store) -> ProjectSettings:
        return load(store)

    def read_limits(self) -> ReadLimits:
        return ReadLimits(
            max_bytes=self.import_max_bytes,
            max_line_bytes=self.import_max_line_bytes,
            max_rows=self.import_max_rows,
        )

    def save(self, store: Store, by: Account) -> None:
        """Write every setting that differs from the stored one; only an admin may."""
        from annotate_app.accounts.auth import require_admin

        require_admin(by)
        self.validate()
        stored = load(store)
        _write(store, {k: v for k, v in asdict(self).items() if getattr(stored, k) != v})


KEYS = tuple(f.name for f in fields(ProjectSettings))
_TYPES: dict[str, Any] = {
    "overlap_k": int,
    "gold_fraction": (int, float),
    "aspects_enabled": bool,
    "lease_minutes": int,
    "guidelines": str,
    "queue_seed": str,
    "retrain_every": int,
    "routing": (dict, type(None)),
    "judge_template": (dict, str, type(None)),
    "project_password_hash": (str, type(None)),
    "session_idle_minutes": int,
    "import_max_bytes": int,
    "import_max_line_bytes": int,
    "import_max_rows": int,
}


def _check_type(key: str, value: Any, expected: Any) -> None:
    kinds = expected if isinstance(expected, tuple) else (expected,)
    # True is an int to Python, not to a person setting overlap_k
    ok = isinstance(value, kinds) and not (isinstance(value, bool) and bool not in kinds)
    if not ok:
        names = " or ".join("null" if k is type(None) else k.__name__ for k in kinds)
        raise ValueError(f"{key} must be {names}, got {type(value).__name__} {value!r}")


def load(store: Store) -> ProjectSettings:
    """The project's settings: stored values over the defaults (unknown keys are ignored)."""
    saved = store.all_settings()
    return ProjectSettings(**{key: saved[key] for key in KEYS if key in saved})


def update(store: Store, **changes: Any) -> ProjectSettings:
    """Check and write some settings (the caller checks who may); returns the new settings."""
    unknown = sorted(set(changes) - set(KEYS))
    if unknown:
        raise ValueError(f"unknown project settings {unknown}; known: {', '.join(KEYS)}")
    new = replace(load(store), **changes)
    new.validate()
    _write(store, changes)
    return new


def _write(store: Store, values: dict[str, Any]) -> None:
    for key, value in values.items():
        store.set_setting(key, value)
