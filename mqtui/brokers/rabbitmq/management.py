"""The management API as the RabbitMQ adapter's modules ask it: awaitable, on the adapter's HTTP threads.

`ManagementAPI` (`http`) blocks; `Management` runs its requests on a small thread pool of its own,
pages through listings side by side, and shares one listing of every queue among the calls of one poll
(destinations, backlog and DLQs ask at the same moment and wait for the same pages).
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from mqtui.brokers.rabbitmq.amqp import text
from mqtui.brokers.rabbitmq.http import QUEUE_COLUMNS, ManagementAPI, quote_segment
from mqtui.brokers.rabbitmq.names import Naming, QueueRef
from mqtui.brokers.rabbitmq.server import IDENTITY_COLUMNS
from mqtui.brokers.rabbitmq.topology import DlqInfo, parse_version
from mqtui.errors import BrokerUnavailable, NotFound


@dataclass
class QueueListing:
    """One listing of every queue, shared by the calls of one poll; its dead-letter map is worked out once."""

    rows: list[dict[str, Any]]
    dlqs: asyncio.Future[dict[tuple[str, str], DlqInfo]] | None = None


def retrieve(future: asyncio.Future[Any]) -> None:
    """Mark a shared future's failure as seen: every caller may have been cancelled before it ended."""
    if not future.cancelled():
        future.exception()


class Management:
    """One broker's management API, awaitable; owns the naming of queues across vhosts."""

    def __init__(self, api: ManagementAPI, naming: Naming) -> None:
        self.api = api
        self.name = api.broker
        self.naming = naming
        self.overview: Mapping[str, Any] = {}
        """What /api/overview said at connect: version, cluster and node names (IDENTITY_COLUMNS)."""
        self.version: tuple[int, ...] = ()
        self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix=f"mqtui-rabbitmq-http-{self.name}")
        self._listing_task: asyncio.Future[QueueListing] | None = None

    def display(self, vhost: str, name: str) -> str:
        return self.naming.display(vhost, name)

    async def identify(self) -> None:
        """Learn the vhosts, the version and the cluster; NotFound unless the home vhost is open to the user."""
        listed, overview = await asyncio.gather(
            self.get("/api/vhosts", {"columns": "name"}),
            self.get("/api/overview", {"columns": ",".join(IDENTITY_COLUMNS)}),
        )
        self.overview = overview if isinstance(overview, Mapping) else {}
        self.version = parse_version(self.overview.get("rabbitmq_version"))
        vhosts = {text(v.get("name")) for v in listed or ()}
        if self.naming.home not in vhosts:
            raise NotFound(
                f"{self.name}: vhost {self.naming.home!r} not found or not open to user {self.api.username!r}"
            )
        self.naming.update(vhosts)

    def close(self) -> None:
        if self._listing_task is not None:
            self._listing_task.cancel()
        self._pool.shutdown(wait=False, cancel_futures=True)

    # -- requests ----------------------------------------------------------------------------------
    async def get(self, path: str, params: Mapping[str, str | int] | None = None, *, what: str | None = None) -> Any:
        return await self.send("GET", path, params=params, what=what)

    async def send(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        params: Mapping[str, str | int] | None = None,
        what: str | None = None,
    ) -> Any:
        """A management API request on the HTTP worker threads."""
        call = functools.partial(self.api.request, method, path, params, body=body, what=what)
        return await self._threaded(call)

    async def _threaded(self, call: functools.partial[Any]) -> Any:
        try:
            return await asyncio.get_running_loop().run_in_executor(self._pool, call)
        except RuntimeError:  # the pool was shut down by close()
            raise BrokerUnavailable(f"{self.name}: the connection was closed") from None

    async def queue(self, ref: QueueRef) -> dict[str, Any]:
        path = f"/api/queues/{quote_segment(ref.vhost)}/{quote_segment(ref.name)}"
        return await self.get(path, what=f"queue {self.display(ref.vhost, ref.name)!r}")

    async def queue_bindings(self, ref: QueueRef) -> list[dict[str, Any]]:
        path = f"/api/queues/{quote_segment(ref.vhost)}/{quote_segment(ref.name)}/bindings"
        return await self.get(path, what=f"queue {self.display(ref.vhost, ref.name)!r}") or []

    async def shovel_enabled(self) -> bool:
        """Whether the shovel plugin answers (its management part lists shovels at /api/shovels)."""
        try:
            await self.get("/api/shovels", {"columns": "name"})
        except NotFound:
            return False
        return True

    # -- listings ----------------------------------------------------------------------------------
    async def listing(self, path: str, columns: tuple[str, ...]) -> list[dict[str, Any]]:
        """Every row of a paged listing: the first page, then the others side by side."""

        async def page(number: int) -> Any:
            return await self._threaded(functools.partial(self.api.paged, path, columns, number))

        first = await page(1) or {}
        pages = [first, *await asyncio.gather(*(page(n) for n in range(2, int(first.get("page_count") or 1) + 1)))]
        rows: dict[tuple[str, str], dict[str, Any]] = {}
        for answer in pages:
            for row in (answer or {}).get("items") or ():
                rows.setdefault((text(row.get("vhost")), text(row.get("name"))), row)
        self.naming.update({vhost for vhost, _ in rows})
        return list(rows.values())

    async def queue_listing(self) -> QueueListing:
        """Every queue (QUEUE_COLUMNS), one listing shared by the callers that ask while it runs.

        A caller arriving after a listing ended starts a new one: no answer is cached beyond it.
        """
        task = self._listing_task
        if task is None or task.done():

            async def list_queues() -> QueueListing:
                return QueueListing(await self.listing("/api/queues", QUEUE_COLUMNS))

            task = self._listing_task = asyncio.ensure_future(list_queues())
            task.add_done_callback(retrieve)
        return await asyncio.shield(task)
