"""The only package with SQL. ``Store`` combines one mixin per concern over a shared connection."""

from annotate_app.store.acquisition import AcquisitionStore
from annotate_app.store.analytics import AnalyticsStore
from annotate_app.store.assignment import AssignmentStore
from annotate_app.store.backup import BackupStore
from annotate_app.store.client_answers import ClientAnswerStore
from annotate_app.store.content import ContentStore, IngestCounts
from annotate_app.store.db import ProjectLockedError, StoreError
from annotate_app.store.flags import FlagStore
from annotate_app.store.jobs import JobStore
from annotate_app.store.judge import JudgeStore
from annotate_app.store.labels import LabelStore
from annotate_app.store.project import ProjectStore
from annotate_app.store.prompt_tags import PromptTagStore
from annotate_app.store.review import ReviewStore
from annotate_app.store.reward import RewardStore
from annotate_app.store.routing import RoutingStore


class Store(
    ContentStore,
    LabelStore,
    ProjectStore,
    JobStore,
    BackupStore,
    AssignmentStore,
    AnalyticsStore,
    JudgeStore,
    RewardStore,
    RoutingStore,
    FlagStore,
    ReviewStore,
    ClientAnswerStore,
    AcquisitionStore,
    PromptTagStore,
):
    """A project: one DuckDB file, opened read-write by exactly one process."""


__all__ = ["IngestCounts", "ProjectLockedError", "Store", "StoreError"]
