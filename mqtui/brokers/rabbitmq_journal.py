"""A local record of requeues in flight, so an interrupted requeue can be finished without duplicates.

A requeue publishes a dead letter to its origin, waits for the publisher confirm, and only then acks it
in the DLQ. If mqtui dies between the confirm and the ack, RabbitMQ puts the dead letter back in the
DLQ although its copy already reached the origin. RabbitMQ cannot deduplicate, so the requeue keeps
this journal (one JSON line per step) under mqtui's state directory:

- `P id` before publishing: the copy may reach the origin from now on;
- `C id` after the confirm: the copy is at the origin;
- `A id` once the ack is known to be processed (the broker answered a later call on the channel);
- `X id` when a later run resolves an old `P` by publishing again.

The next requeue of the same DLQ acks a dead letter with an outstanding `C` without publishing it again
(no duplicate), and counts one with an outstanding `P` as a possible duplicate when it publishes it
(the first copy may or may not have reached the broker). Lines are written without fsync: they survive
the process being killed, not the machine losing power.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
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


class RequeueJournal:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.confirmed: Counter[str] = Counter()
        """Copies confirmed at their target whose dead letter may still be in the DLQ."""
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
            except (orjson.JSONDecodeError, KeyError, TypeError):
                continue  # a line cut short by a kill: its step did not complete
            if op == "P":
                self.pending[ident] += 1
            elif op == "C":
                self._take(self.pending, ident)
                self.confirmed[ident] += 1
            elif op == "A":
                self._take(self.confirmed, ident)
            elif op == "X":
                self._take(self.pending, ident)

    @staticmethod
    def _take(counter: Counter[str], ident: str) -> None:
        if counter[ident] > 0:
            counter[ident] -= 1
        if counter[ident] <= 0:
            del counter[ident]

    def _write(self, op: str, ident: str) -> None:
        if self._fd is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        os.write(self._fd, orjson.dumps({"op": op, "id": ident}) + b"\n")

    def will_publish(self, ident: str) -> bool:
        """Record a publish about to happen; True when an earlier run may already have published it."""
        earlier = self.pending[ident] > 0
        if earlier:
            self._take(self.pending, ident)
            self._write("X", ident)
        self._write("P", ident)
        return earlier

    def published(self, ident: str) -> None:
        self._write("C", ident)

    def unpublished(self, ident: str) -> None:
        """The broker refused the copy (nack or unroutable): nothing reached the target."""
        self._write("X", ident)

    def already_at_target(self, ident: str) -> bool:
        """True (and the record taken) when an earlier run's copy of this dead letter was confirmed."""
        if self.confirmed[ident] > 0:
            self._take(self.confirmed, ident)
            return True
        return False

    def acked(self, ident: str) -> None:
        self._write("A", ident)

    def compact(self, keep: set[str]) -> None:
        """After a run that saw the whole DLQ: drop every record except those of dead letters still there.

        Records of ids no longer in the DLQ are settled (their ack went through), so only the ids the
        run left in place (not selected, skipped, failed) can still need one.
        """
        self.close()
        confirmed = Counter({k: v for k, v in self.confirmed.items() if k in keep})
        pending = Counter({k: v for k, v in self.pending.items() if k in keep})
        self.confirmed, self.pending = confirmed, pending
        if not confirmed and not pending:
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()
            return
        lines = [orjson.dumps({"op": "C", "id": k}) for k, n in confirmed.items() for _ in range(n)]
        lines += [orjson.dumps({"op": "P", "id": k}) for k, n in pending.items() for _ in range(n)]
        temporary = self.path.with_suffix(".tmp")
        temporary.write_bytes(b"\n".join(lines) + b"\n")
        os.replace(temporary, self.path)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
