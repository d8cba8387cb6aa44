"""The console's side of finding messages: the search dialog on a destination, and choosing dead letters
by an expression. Both are workflows (one `@work` coroutine each) beside the others, kept here so the
console screen only routes the panes' messages to them.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence

from rich.text import Text
from textual import work

from mqtui.errors import ReadonlyError, UsageError
from mqtui.model import Capability, DeadLetterQueue, Message
from mqtui.services.search.coverage import SearchProgress
from mqtui.services.search.expression import compile_expression
from mqtui.services.search.service import SearchRequest, plan, run_search
from mqtui.ui.cells import plain
from mqtui.ui.panes.dlq import ENTRY_LIMIT
from mqtui.ui.screens.common import ConfirmScreen
from mqtui.ui.screens.search import Found, SearchAsk, SearchScreen
from mqtui.ui.screens.where import WhereScreen
from mqtui.ui.workflows import ConsoleWorkflows


class SearchViews(ConsoleWorkflows):
    """Search a destination (`f` in Destinations, the palette) and select dead letters by expression (`w`)."""

    def saved_filters(self) -> Mapping[str, str]:
        """The profile's named filters (`[profiles.X.filters]`), usable as `@name` in every field."""
        return self.backend.profile.filters

    @work(exit_on_error=False)
    async def search_destination(self, broker: str, destination: str) -> None:
        """The search dialog on one destination; each search it runs is planned and read on the
        backend's loop (values decoded as the tail decodes them), and a range whose reading marks
        messages redelivered (a RabbitMQ queue) is confirmed first and refused when readonly."""
        backend, filters = self.backend, self.saved_filters()
        decoder = backend.decoder(broker)

        async def prepare(batch: Sequence[Message]) -> Sequence[Message]:
            if not decoder.active:
                return batch
            await decoder.prepare(batch, decoder.schema_wait)
            return decoder.decode_batch(batch)

        async def run(ask: SearchAsk, found: Found, stop: threading.Event) -> str:
            request = SearchRequest(destination, compile_expression(ask.where, filters=filters), ask.start,
                                    ask.end, ask.limit)  # fmt: skip
            planned = await backend.call(broker, lambda a: plan(a, request))
            if planned.hazard is not None and not await self._may_search(broker, destination, planned.hazard):
                raise UsageError(f"not searched: {planned.hazard}")
            last = [SearchProgress(0, planned.total, 0)]  # matches are reported with the latest counts

            def progressed(progress: SearchProgress) -> None:
                last[0] = progress
                found(progress.scanned, progress.total, ())

            coverage = await backend.call(
                broker,
                lambda a: run_search(a, request, planned, on_matches=lambda m: found(last[0].scanned, last[0].total, m),
                                     on_progress=progressed, cancel=stop, prepare=prepare),
                writes=Capability.PEEK if planned.hazard is not None else None,
                action="search",
            )  # fmt: skip
            return coverage.line

        await self.app.push_screen_wait(
            SearchScreen(broker, destination, run=run, open_message=lambda m: self.show_message(m, title="match"))
        )

    async def _may_search(self, broker: str, destination: str, hazard: str) -> bool:
        """Reading this range changes it (as a peek does): refused when readonly, else confirmed."""
        refusal = self.policy.readonly_refusal("search")
        if refusal:
            raise ReadonlyError(f"{refusal}: {hazard}")
        body = Text.assemble(
            "Search ", plain(destination, 100), " on ", plain(broker, 40), "? ", plain(hazard, 300), "."
        )
        return await self._confirmed(ConfirmScreen("Search", body, confirm="Search"))

    @work(exclusive=True, group="where", exit_on_error=False)
    async def select_letters_where(self, dlq: DeadLetterQueue) -> None:
        """Ask for an expression over the open DLQ's entries (count and preview as it is typed), then
        select the ones it matches: replay and delete act on exactly those, with their own preview."""
        pane = self.dead_letters_pane
        listing = pane.listing
        if listing.dlq is None or (listing.dlq.broker, listing.dlq.name) != (dlq.broker, dlq.name):
            return
        title = Text.assemble("Select dead letters of ", plain(dlq.broker, 40), " / ", plain(dlq.name, 80))
        more = len(listing.entries) >= ENTRY_LIMIT and (dlq.count or 0) > len(listing.entries)
        screen = WhereScreen(title, listing.entries, self.saved_filters(), more=more)
        selection = await self.app.push_screen_wait(screen)
        if selection is not None:
            pane.select_where(selection.ids, selection.expression)
            self.notify(f"selected {len(selection.ids):,} dead letter(s) where {selection.expression}", timeout=4)
