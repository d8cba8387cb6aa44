"""How a RabbitMQ queue is named on screen and on the command line: `queue` or `vhost/queue`.

Queues of the profile's own vhost (the one in the AMQP URL, usually "/") keep their plain names;
queues of any other vhost the user can see are written `vhost/queue`. The same form is accepted
everywhere a queue name is taken. A name is split only at a known vhost, longest first, so a queue
called `a/b` in the home vhost stays itself unless a vhost named `a` exists.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class QueueRef:
    vhost: str
    name: str


class Naming:
    def __init__(self, home: str, vhosts: Iterable[str] = ()) -> None:
        self.home = home
        self.vhosts: tuple[str, ...] = ()
        self.update(vhosts)

    def update(self, vhosts: Iterable[str]) -> None:
        others = {v for v in vhosts if v != self.home}
        self.vhosts = tuple(sorted(others, key=len, reverse=True))

    def display(self, vhost: str, name: str) -> str:
        return name if vhost == self.home else f"{vhost}/{name}"

    def parse(self, text: str) -> QueueRef:
        for vhost in self.vhosts:
            prefix = f"{vhost}/"
            if text.startswith(prefix) and len(text) > len(prefix):
                return QueueRef(vhost, text[len(prefix) :])
        return QueueRef(self.home, text)
