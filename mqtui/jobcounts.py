"""A job framework's counts for one queue row, read the same way by `ls`, `ls --json` and the console.

Each framework names its states differently (BullMQ "delayed"/"failed", Sidekiq "scheduled"/"retry"/
"dead", Dramatiq "delayed"/".XQ", RQ's failed registry). The adapter that recognises a framework puts the
counts into `Destination.extra` under the neutral keys below, so the places an on-call engineer looks at
("delayed 3 · failed 5") need not know any framework's layout. A count the framework does not keep, or one
the adapter could not split per queue, is absent: shown as nothing and as null in JSON, never as 0.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from mqtui.model import Destination

FRAMEWORK = "convention"
"""The extra naming the job framework a row is a queue of (bullmq, dramatiq, rq, celery, sidekiq)."""
DELAYED = "jobs_delayed"
"""Jobs scheduled for later (BullMQ delayed, Sidekiq scheduled, Dramatiq's delay queue)."""
RETRYING = "jobs_retrying"
"""Failed jobs the framework will retry by itself (Sidekiq's retry set)."""
FAILED = "jobs_failed"
"""Jobs in the framework's failure store (RQ failed registry, BullMQ failed, Sidekiq dead, Dramatiq .XQ)."""

FRAMEWORKS = frozenset({"bullmq", "celery", "dramatiq", "rq", "sidekiq"})


@dataclass(frozen=True, slots=True)
class JobCounts:
    """One framework queue's states, as its own dashboard shows them; None where unknown."""

    framework: str
    waiting: int | None
    active: int | None
    delayed: int | None
    retrying: int | None
    failed: int | None
    workers: int | None

    def summary(self) -> str:
        """The counts a row has room for, e.g. "delayed 3 · failed 5": waiting, active and workers have
        their own columns (Depth, In-flight, Cons)."""
        known = (("delayed", self.delayed), ("retrying", self.retrying), ("failed", self.failed))
        return " · ".join(f"{label} {value:,}" for label, value in known if value is not None)

    def record(self) -> dict[str, str | int | None]:
        return {"framework": self.framework, "waiting": self.waiting, "active": self.active,
                "delayed": self.delayed, "retrying": self.retrying, "failed": self.failed,
                "workers": self.workers}  # fmt: skip


def job_counts(destination: Destination) -> JobCounts | None:
    """The row's job-framework counts, or None for a row that is no framework's queue (or is a DLQ)."""
    framework = destination.extra.get(FRAMEWORK, "")
    if destination.is_dlq or framework not in FRAMEWORKS:
        return None
    extra = destination.extra
    return JobCounts(
        framework=framework,
        waiting=destination.depth,
        active=destination.in_flight,
        delayed=_count(extra, DELAYED),
        retrying=_count(extra, RETRYING),
        failed=_count(extra, FAILED),
        workers=destination.consumers,
    )


def _count(extra: Mapping[str, str], key: str) -> int | None:
    value = extra.get(key, "")
    return int(value) if value.isdigit() else None
