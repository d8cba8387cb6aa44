"""The one object the console talks to: snapshots, tails and actions for the profile it shows.

`LiveBackend` runs every broker conversation on its own event loop in a background thread: pollers,
tails and actions all live there, so the UI thread only draws, and an adapter that blocks by mistake
slows its own broker, never the screen. Results cross to the UI through the listener it passes
(thread-safe `post_message` in the console) and through awaitables it can await on its own loop.
Every broker operation goes through one `call` (the service gateway and its write policy); look tests
give the session a fake adapter and fixed snapshots instead of brokers.
"""

from __future__ import annotations

import abc
import asyncio
import concurrent.futures
import contextlib
import dataclasses
import logging
import threading
import time
from collections.abc import Callable, Collection, Coroutine
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from mqtui.model import Capability, DeadLetter, DestinationKind, Message, OutgoingMessage, StartPosition
from mqtui.services.alerts import Alert, AlertBoard, AlertBook
from mqtui.services.decoding import Decoder, decoder_for
from mqtui.services.gateway import Gateway, Operation
from mqtui.services.history import LagHistory
from mqtui.services.incident import RecordedDeadLetters, RecordedTail
from mqtui.services.keyhold import KeyHold
from mqtui.services.poller import BrokerPoller
from mqtui.services.resume import resume_mode
from mqtui.services.session import Session, open_session, profile_names
from mqtui.services.snapshot import BrokerSnapshot, BrokerStatus
from mqtui.services.store import HistoryStore, Outage, Point, default_path
from mqtui.services.tailer import TailStream

T = TypeVar("T")
SnapshotListener = Callable[[BrokerSnapshot], None]
AlertListener = Callable[[AlertBoard, tuple[Alert, ...]], None]
"""Told the whole board and what just opened or closed, from the backend's thread."""

RESTORE_HORIZON = 3600.0
"""Seconds back the Lag pane's history is restored from at start (its last `LagHistory.size` polls)."""


class ConsoleBackend(abc.ABC):
    """Everything the console shows or does, for one profile."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.profile_name = session.name
        self.profile = session.profile
        self.config = session.config
        self.notices = tuple(session.notices)
        self.gateway = Gateway(session)
        self.policy = self.gateway.policy
        """The profile's write rules: what the console's keys, palette and workflows refuse, and why."""
        self.alerts = AlertBook(session.profile.alert_rules())
        """The profile's alert rules, judged as snapshots arrive (`judge`); its `board` is what is open."""
        self.alert_listener: AlertListener | None = None
        self.store: HistoryStore | None = None
        """The profile's lag history on disk, where it records (`LiveBackend`); charts read it."""
        self.decoders: dict[str, Decoder] = {}
        """Each broker's payload decoder for the session (`decoder`): one fetch per schema id."""
        self.key_hold = KeyHold()
        """Set while the console answers a key: the threads that poll step aside (`key_pressed`)."""

    @property
    def readonly(self) -> bool:
        return self.profile.readonly

    def key_pressed(self) -> None:
        """The console starts answering a key: polling steps aside until `key_answered` (`KeyHold`)."""
        self.key_hold.begin()

    def key_answered(self) -> None:
        self.key_hold.end()

    @property
    def production(self) -> bool:
        return self.profile.production

    @property
    def theme(self) -> str:
        return self.profile.theme or self.config.theme

    @property
    def keys(self) -> dict[str, str]:
        return dict(self.config.keys)

    async def call(
        self,
        broker: str,
        op: Operation[T],
        *,
        writes: Capability | None = None,
        action: str | None = None,
        needs: Capability | None = None,
    ) -> T:
        """Run `op` on a fresh adapter of `broker` through the gateway (`Gateway.call`): refused first
        when the policy says no, awaitable from the UI's loop. `lambda a: a.purge(queue)`, writes=PURGE;
        `lambda a: a.describe_group(group)`, needs=GROUPS."""
        return await self._run(self.gateway.call(broker, op, writes=writes, action=action, needs=needs))

    async def _run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Where a broker call runs: here, on the caller's loop, unless a backend keeps a loop of its own."""
        return await coroutine

    def decoder(self, broker: str) -> Decoder:
        """`broker`'s decoder (registry, local schemas, encodings), made once per session."""
        found = self.decoders.get(broker)
        if found is None:
            found = self.decoders[broker] = decoder_for(self.profile, self.session.broker(broker))
        return found

    async def schema_encoded(
        self, broker: str, destination: str, subject: str, messages: list[OutgoingMessage]
    ) -> list[OutgoingMessage]:
        """The publish form's "Schema" field: JSON values encoded with a registry subject's schema."""
        from mqtui.services.decoding.encode import encode_messages

        return await encode_messages(self.profile, self.session.broker(broker), destination, subject, messages)

    async def decoded_letters(self, broker: str, letters: list[DeadLetter]) -> list[DeadLetter]:
        """Dead letters with their payloads decoded (as `decoded_messages`)."""
        messages = await self.decoded_messages(broker, [letter.message for letter in letters])
        return [dataclasses.replace(letter, message=m) for letter, m in zip(letters, messages, strict=True)]

    async def decoded_messages(self, broker: str, messages: list[Message]) -> list[Message]:
        """Messages read once (a DLQ, a peek) decoded, waiting at most the registry's timeout for their
        schemas (not streamed: better decoded than fast), on the backend's loop."""
        decoder = self.decoder(broker)

        async def decode() -> list[Message]:
            await decoder.prepare(messages, decoder.schema_wait)
            return list(decoder.decode_batch(messages))

        return await self._run(decode())

    async def lag_series(self, broker: str, destination: str, group: str, since: datetime) -> list[Point]:
        """One group's recorded history from `since` on (`HistoryStore.series`), read on a thread so a
        day of rows never holds up a frame; [] where nothing records."""
        store = self.store
        if store is None:
            return []
        return await asyncio.to_thread(store.series, broker, destination, group, since)

    async def outages(self, broker: str, since: datetime) -> list[Outage]:
        """When `broker` was down from `since` on, as recorded (`HistoryStore.outages`), read on a thread."""
        store = self.store
        if store is None:
            return []
        return await asyncio.to_thread(store.outages, broker, since)

    def brokers(self) -> list[tuple[str, str]]:
        """(name, kind) of every broker in the profile, in config order."""
        return [(broker.name, broker.kind) for broker in self.profile.brokers]

    def profile_names(self) -> list[str]:
        return profile_names(self.config)

    def server_view_brokers(self) -> list[str]:
        """Brokers of the profile whose adapter has a server view (Capability.SERVER_VIEW), in config order."""
        return [b.name for b in self.profile.brokers if self.gateway.capabilities(b.name) & Capability.SERVER_VIEW]

    def now(self) -> datetime:
        """The clock every age and countdown on screen is measured with (fixed in look tests)."""
        return datetime.now(UTC)

    @property
    def offline_note(self) -> str | None:
        """What the header says when the console shows a recorded snapshot instead of live brokers."""
        return None

    def recorded_views(self) -> tuple[RecordedTail | None, RecordedDeadLetters | None]:
        """The Tail and Dead letters views a snapshot recorded, shown when it is opened (live: none)."""
        return None, None

    def judge(self, snapshot: BrokerSnapshot) -> None:
        """Open and close alerts on a new snapshot (where snapshots arrive: the backend's loop), and tell
        `alert_listener` when something changed."""
        try:
            changes = self.alerts.observe(snapshot, self.now())
        except Exception:  # a bug in judging must not keep the snapshot from the console
            logging.getLogger("mqtui.alerts").exception("judging %s failed", snapshot.name)
            return
        listener = self.alert_listener
        if changes and listener is not None:
            listener(self.alerts.board, tuple(changes))

    @abc.abstractmethod
    def start(self, listener: SnapshotListener) -> None:
        """Begin polling; `listener` gets every new snapshot, from any thread."""

    @abc.abstractmethod
    def stop(self) -> None:
        """Stop polling and tails, close every adapter, end the session (blocking: call off the UI)."""

    @abc.abstractmethod
    def snapshots(self) -> dict[str, BrokerSnapshot]:
        """The latest snapshot of every broker."""

    def refresh(self, broker: str | None = None) -> None:  # noqa: B027 - fixed data has nothing to refresh
        """Poll now (one broker or all) instead of waiting for the interval or the backoff."""

    @abc.abstractmethod
    def tail(self, broker: str, destination: str, start: StartPosition, *, capacity: int = 50_000) -> TailStream:
        """Start a live tail; read it with `TailStream.take()` and end it with `stop()`."""

    @abc.abstractmethod
    def open_profile(self, name: str) -> ConsoleBackend:
        """A backend for another profile of the same config (blocking: the demo may start brokers)."""


class LiveBackend(ConsoleBackend):
    """Real brokers, polled on a background event loop."""

    def __init__(self, session: Session) -> None:
        super().__init__(session)
        self.history = LagHistory(stall_polls=session.profile.stall_polls)
        self._pollers: dict[str, BrokerPoller] = {}
        self._tails: list[TailStream] = []
        self._down: dict[str, bool] = {}
        if self.profile.history:  # readonly profiles record too: the file is local
            store = HistoryStore(
                default_path(self.profile_name),
                retention=self.profile.history_retention_s,
                every=self.profile.history_interval,
                on_failure=self._history_failed,
            )
            if store.failure is None:
                self.store = store
            else:
                self.notices = (*self.notices, store.failure)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stopped = False
        self._listener: SnapshotListener | None = None

    @classmethod
    def open(cls, config_path: str | Path | None, profile: str | None) -> LiveBackend:
        """Load the config and choose the profile; the demo profile starts (and owns) its brokers."""
        return cls(open_session(config_path, profile, own_demo=True))

    def open_profile(self, name: str) -> LiveBackend:
        return LiveBackend.open(self.session.config_path, name)

    def _history_failed(self, line: str) -> None:
        """The store turned itself off mid-session (from its thread): the status line says so from the
        next redraw on."""
        self.notices = (*self.notices, line)

    # -- the background loop -----------------------------------------------------------------------
    def start(self, listener: SnapshotListener) -> None:
        """Start polling; called again (a new console on the same backend), it only swaps the listener."""
        self._listener = listener
        if self._loop is not None:
            for snapshot in self.snapshots().values():
                listener(snapshot)
            return
        loop = self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run_loop, args=(loop,), name="mqtui-backend", daemon=True)
        self._thread.start()
        for config in self.profile.brokers:
            poller = BrokerPoller(
                config,
                interval=self.profile.poll_interval,
                listener=self._deliver,
                history=self.history,
                adapter_factory=self.session.adapters.create,
            )
            self._pollers[config.name] = poller
        asyncio.run_coroutine_threadsafe(self._restore_then_poll(), loop)

    async def _restore_then_poll(self) -> None:
        """The Lag pane's history starts from what the store kept (read on a thread), then polling starts."""
        store = self.store
        if store is not None:
            wall_now = self.now()
            horizon = min(RESTORE_HORIZON, self.profile.history_retention_s)
            since = wall_now - timedelta(seconds=horizon)
            recent = await asyncio.to_thread(store.recent, list(self._pollers), since, self.history.size - 1)
            self.history.restore(recent, wall_now, time.monotonic())
        for poller in self._pollers.values():
            poller.task = asyncio.ensure_future(poller.run())

    def key_pressed(self) -> None:
        """The loop steps aside at its next step: a poll's replies are parsed and its records built there."""
        super().key_pressed()
        loop = self._loop
        if loop is not None and not self._stopped:
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(self.key_hold.step_aside)

    def _deliver(self, snapshot: BrokerSnapshot) -> None:
        """A poller's new snapshot (on the backend loop): to the console, and to tails when the broker went down."""
        was_down = self._down.get(snapshot.name, False)
        down = self._down[snapshot.name] = snapshot.status is BrokerStatus.UNREACHABLE
        if down and not was_down:
            for stream in self._tails:
                if stream.broker == snapshot.name:
                    stream.broker_lost(snapshot.error or f"{snapshot.name}: unreachable")
        self.judge(snapshot)
        if self.store is not None:
            self.store.record(snapshot, self.now())
        listener = self._listener
        if listener is not None:
            listener(snapshot)

    @staticmethod
    def _run_loop(loop: asyncio.AbstractEventLoop) -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_forever()
        finally:
            with contextlib.suppress(Exception):
                loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    @property
    def stopped(self) -> bool:
        """Whether `stop` has finished: the background loop's thread has ended."""
        return self._stopped and (self._thread is None or not self._thread.is_alive())

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        loop, thread = self._loop, self._thread
        if loop is not None and thread is not None:
            grace = max((b.timeout for b in self.profile.brokers), default=5.0) + 2
            with contextlib.suppress(Exception):
                asyncio.run_coroutine_threadsafe(self._cancel_everything(), loop).result(timeout=grace)
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=grace)
        if self.store is not None:
            self.store.close()
        self.session.close()

    async def _cancel_everything(self) -> None:
        """Pollers and tails first, so they close their adapters while the clients' own tasks (a NATS
        connection's reader) still run; then whatever is left. Cancelled all at once, the closes would
        wait for answers nobody reads any more."""
        current = asyncio.current_task()
        owned = [poller.task for poller in self._pollers.values()] + [stream.task for stream in self._tails]
        await _cancel([task for task in owned if task is not None])
        await _cancel([task for task in asyncio.all_tasks() if task is not current])

    def _schedule(self, coroutine: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        """Run on the backend loop, from any thread."""
        if self._loop is None or self._stopped:
            coroutine.close()
            raise RuntimeError("the backend is not running")
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop)

    def _submit(self, coroutine: Coroutine[Any, Any, T]) -> asyncio.Future[T]:
        """Run on the backend loop; the result is awaitable on the caller's loop."""
        return asyncio.wrap_future(self._schedule(coroutine))

    # -- state -------------------------------------------------------------------------------------
    def snapshots(self) -> dict[str, BrokerSnapshot]:
        return {name: poller.latest for name, poller in self._pollers.items()}

    def refresh(self, broker: str | None = None) -> None:
        """Poll now, and reconnect waiting tails now, instead of at the end of their pauses."""
        if self._loop is None:
            return
        for name, poller in self._pollers.items():
            if broker is None or name == broker:
                self._loop.call_soon_threadsafe(poller.wake)
        for stream in self._tails:
            if broker is None or stream.broker == broker:
                stream.retry_now()

    def poll_count(self, broker: str) -> int:
        """Completed polls of one broker (tests wait for "the next poll" with it)."""
        return self._pollers[broker].polls

    def tail(self, broker: str, destination: str, start: StartPosition, *, capacity: int = 50_000) -> TailStream:
        config = self.session.broker(broker)
        poller = self._pollers.get(broker)
        known = poller.latest.destinations if poller is not None else ()
        kinds = {d.kind for d in known if d.name == destination}  # Redis: a stream and a channel may share a name
        kind = DestinationKind.STREAM if DestinationKind.STREAM in kinds else next(iter(kinds), None)
        resume = resume_mode(config.kind, kind, start)
        stream = TailStream(
            config, destination, start, capacity=capacity, resume_mode=resume, adapters=self.session.adapters,
            decoder=self.decoder(broker),
        )  # fmt: skip
        self._tails = [t for t in self._tails if t.active]
        self._tails.append(stream)
        self._schedule(stream.run())
        return stream

    # -- actions -----------------------------------------------------------------------------------
    async def _run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """On the backend loop: a long replay never holds up the screen."""
        return await self._submit(coroutine)


async def _cancel(tasks: Collection[asyncio.Task[Any]]) -> None:
    """Cancel `tasks` and wait for them, cancelling again any still running a second later: on
    Python 3.11 a cancellation that lands as an `asyncio.wait_for` finishes can be swallowed."""
    pending = {task for task in tasks if not task.done()}
    while pending:
        for task in pending:
            task.cancel()
        _done, pending = await asyncio.wait(pending, timeout=1.0)
