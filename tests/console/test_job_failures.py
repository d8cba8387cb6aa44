"""How a job framework's failed jobs look in the Dead letters pane and the detail view (fixed data): the
exception's last line as the reason, the call and its arguments, and the traceback as a section of its
own in the detail view, whole lines rather than one cut cell."""

from __future__ import annotations

from datetime import timedelta

from mqtui.model import DeadLetter, DeadLetterQueue, Destination, DestinationKind, Message
from mqtui.services.snapshot import BrokerSnapshot, BrokerStatus
from mqtui.ui.app import MqtuiApp
from tests.console.fixtures import NOW, REDIS_CAPS, FixedData, fixed_backend, profile
from tests.console.test_snapshots import SIZE, show

TRACEBACK = """Traceback (most recent call last):
  File "/app/.venv/lib/python3.11/site-packages/rq/worker.py", line 1431, in perform_job
    rv = job.perform()
  File "/app/.venv/lib/python3.11/site-packages/rq/job.py", line 1280, in perform
    self._result = self._execute()
  File "/app/images/tasks.py", line 41, in resize
    raise ValueError(f"image {n} is corrupt")
ValueError: image 7 is corrupt"""


def _job(job_id: str, n: int, minutes: int) -> DeadLetter:
    call = f"images.tasks.resize({n}, width=320)"
    message = Message("cache-redis", "rq:failed:images", None, job_id, NOW - timedelta(minutes=minutes + 1),
                      job_id.encode(), call.encode(), headers=(("origin", b"images"), ("status", b"failed")))  # fmt: skip
    return DeadLetter(job_id, message, origin="rq:queue:images", reason=f"ValueError: image {n} is corrupt",
                      last_failure=NOW - timedelta(minutes=minutes),
                      extra={"status": "failed", "traceback": TRACEBACK.replace("7", str(n))})  # fmt: skip


def _app() -> MqtuiApp:
    failed = DeadLetterQueue("cache-redis", "rq:failed:images", DestinationKind.QUEUE, "rq:queue:images", 2,
                             oldest=NOW - timedelta(minutes=9), detected_by="rq failed registry")  # fmt: skip
    dramatiq = DeadLetterQueue("cache-redis", "dramatiq:mail.XQ", DestinationKind.QUEUE, "dramatiq:mail", 3,
                               oldest=NOW - timedelta(hours=1), detected_by="dramatiq dead-letter set")  # fmt: skip
    redis = BrokerSnapshot(
        name="cache-redis", kind="redis", status=BrokerStatus.CONNECTED, capabilities=REDIS_CAPS,
        replay_verb="requeue",
        destinations=(
            Destination("cache-redis", "rq:queue:images", DestinationKind.LIST, depth=12, in_flight=1,
                        extra={"convention": "rq", "rq_failed": "2"}),
            Destination("cache-redis", "dramatiq:mail", DestinationKind.LIST, depth=0, in_flight=0,
                        extra={"convention": "dramatiq", "dramatiq_dead": "3"}),
        ),
        dlqs=(failed, dramatiq),
        polled_at=NOW - timedelta(seconds=1),
    )  # fmt: skip
    letters = [_job("5c1f0a2e-images-7", 7, 9), _job("9d04b7aa-images-8", 8, 2)]
    data = FixedData(snapshots=[redis], now=NOW, dead_letters={("cache-redis", "rq:failed:images"): letters})
    app = MqtuiApp(fixed_backend(profile(), data))  # type: ignore[arg-type]
    app.animation_level = "none"
    return app


def test_failed_jobs_in_the_dead_letters_pane(snap_compare) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(_app(), terminal_size=SIZE, run_before=show("4", "down", "enter"))


def test_a_failed_job_detail_shows_its_traceback(snap_compare) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(_app(), terminal_size=SIZE, run_before=show("4", "down", "enter", after=("enter",)))
