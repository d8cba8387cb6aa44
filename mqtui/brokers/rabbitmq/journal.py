"""A local record of requeues in flight, so an interrupted requeue can be finished without duplicates.

A requeue publishes a dead letter to its target, waits for the publisher confirm, and only then acks it
in the DLQ. If mqtui dies between the confirm and the ack, or the broker dies before it has written the
ack to disk, the dead letter comes back to the DLQ although its copy already reached the target.
RabbitMQ cannot deduplicate, so the requeue keeps this journal (one JSON line per step) under mqtui's
state directory:

- `P id` before publishing: the copy may reach the target from now on;
- `C id` after the confirm: the copy is at the target (it is persisted, for a persistent message);
- `X id` when nothing reached the target (unroutable, nacked) or a later run publishes again.

The next requeue of the same DLQ acks a dead letter with a `C` without publishing it again (no
duplicate), and counts one with a `P` and no `C` as a possible duplicate when it publishes it (the
first copy may or may not have reached the broker). A dead letter's id changes when it is
dead-lettered again (the x-death count moves), so a `C` never matches a later failure of the same
message. Records are dropped when a run has looked at the whole DLQ: only the ids it left there can
still need theirs. Lines are written without fsync: they survive mqtui being killed, not the machine
losing power.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import time
from collections import Counter
from pathlib import Path

import orjson


def journal_dir() -> Path:
    override = os.environ.get("MQTUI_STATE_DIR")
    if override:
        return Path(override) / "requeue"
    from platformdirs import user_state_path

    return user_state_path("mqtui") / "requeue"


def journal_path(broker: str, host: str, port: int, vhost: str, queue: str) -> Path:
    """One file per broker address, vhost and DLQ; the readable part of the name is sanitised."""
    digest = hashlib.blake2b(f"{host}:{port}\0{vhost}\0{queue}".encode(), digest_size=8).hexdigest()
    readable = re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{broker}-{queue}")[:80]
    return journal_dir() / f"{readable}-{digest}.jsonl"


#: How long a confirmed copy is remembered after the run that made it: a broker that crashes soon
#: after a requeue can lose acks it had not written to disk yet, bringing those dead letters back.
RETAIN_CONFIRMED = 3600.0


class RequeueJournal:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.confirmed: dict[str, list[float]] = {}
        """When each copy was confirmed at its target, for dead letters that may still be in the DLQ."""
        self.pending: Counter[str] = Counter()
        """Copies published without a confirm: they may or may not have reached the target."""
        self._fd: int | None = None
        self._load()

    def _load(self) -> None:
        try:
            lines = self.path.read_bytes().splitlines()
        except FileNotFoundError:
            return
        for line in lines:
            try:
                record = orjson.loads(line)
                op, ident = record["op"], str(record["id"])
                when = float(record.get("t", 0.0))
            except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError):
                continue  # a line cut short by a kill: its step did not complete
            if op == "P":
                self.pending[ident] += 1
            elif op == "C":
                self._take(ident)
                self.confirmed.setdefault(ident, []).append(when)
            elif op == "X":
                self._take(ident)

    def _take(self, ident: str) -> None:
        if self.pending[ident] > 1:
            self.pending[ident] -= 1
        else:
            self.pending.pop(ident, None)

    def _write(self, op: str, ident: str, **extra: float) -> None:
        if self._fd is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        os.write(self._fd, orjson.dumps({"op": op, "id": ident, **extra}) + b"\n")

    def will_publish(self, ident: str) -> bool:
        """Record a publish about to happen; True when an earlier run may already have published it."""
        earlier = self.pending[ident] > 0
        if earlier:
            self._take(ident)
            self._write("X", ident)
        self._write("P", ident)
        return earlier

    def published(self, ident: str) -> None:
        now = time.time()
        self._write("C", ident, t=now)
        self.confirmed.setdefault(ident, []).append(now)

    def unpublished(self, ident: str) -> None:
        """The broker refused the copy (nack or unroutable): nothing reached the target."""
        self._write("X", ident)

    def already_at_target(self, ident: str) -> bool:
        """True (and the record used up) when an earlier copy of this dead letter was confirmed."""
        times = self.confirmed.get(ident)
        if not times:
            return False
        times.pop(0)
        if not times:
            del self.confirmed[ident]
        return True

    def compact(self, keep: set[str]) -> None:
        """After a run that saw the whole DLQ: keep only what can still matter.

        That is the records of dead letters the run left in place (not selected, skipped, failed), and
        confirmations younger than RETAIN_CONFIRMED (this run's among them), in case a broker crash
        loses acks it had not written to disk yet.
        """
        self.close()
        horizon = time.time() - RETAIN_CONFIRMED
        confirmed = {
            ident: [t for t in times if ident in keep or t > horizon] for ident, times in self.confirmed.items()
        }
        self.confirmed = {ident: times for ident, times in confirmed.items() if times}
        self.pending = Counter({k: v for k, v in self.pending.items() if k in keep})
        if not self.confirmed and not self.pending:
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()
            return
        lines = [orjson.dumps({"op": "C", "id": k, "t": t}) for k, times in self.confirmed.items() for t in times]
        lines += [orjson.dumps({"op": "P", "id": k}) for k, n in self.pending.items() for _ in range(n)]
        temporary = self.path.with_suffix(".tmp")
        temporary.write_bytes(b"\n".join(lines) + b"\n")
        os.replace(temporary, self.path)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
