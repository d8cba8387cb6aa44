"""The tail's message list: a line-API view over a bounded buffer, fast enough for 20,000 msg/s.

Only the rows on screen are formatted (and cached), so ingesting a batch costs a list extend, not a
widget per message. The buffer is bounded: the oldest messages fall out of view and are counted. While
the cursor sits on the newest message the list follows new ones; once the operator moves up, the view
stays on the messages they are reading even as older ones fall out above.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

from rich.cells import cell_len
from rich.style import Style
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.cache import LRUCache
from textual.geometry import Size
from textual.message import Message as TextualMessage
from textual.scroll_view import ScrollView
from textual.strip import Strip

from mqtui.model import Message
from mqtui.safetext import safe_line
from mqtui.ui.payloads import key_line, payload_line


def where(message: Message) -> str:
    part = "" if message.partition is None else f"[{message.partition}]"
    return f"{part}@{message.position}"


class MessageList(ScrollView, can_focus=True):
    """Messages, newest last; `append` a batch, `cursor_message` is the highlighted one."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "message-list--cursor",
        "message-list--time",
        "message-list--position",
        "message-list--key",
    }
    DEFAULT_CSS = """
    MessageList {
        height: 1fr;
        background: $surface;
        overflow-x: hidden;
        padding: 0 1;
        & > .message-list--cursor { background: $primary 40%; text-style: bold; }
        &:focus > .message-list--cursor { background: $primary 70%; }
        & > .message-list--time { color: $muted; }
        & > .message-list--position { color: $secondary; }
        & > .message-list--key { color: $accent; }
    }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up,k", "cursor(-1)", "Up", show=False),
        Binding("down,j", "cursor(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home,g", "first", "First", show=False),
        Binding("end,G", "last", "Newest (follow)", show=False),
    ]

    class Highlighted(TextualMessage):
        """The cursor moved to another message (or the list changed under it)."""

        def __init__(self, message: Message | None) -> None:
            super().__init__()
            self.message = message

    def __init__(self, capacity: int = 10_000, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.capacity = capacity
        self.dropped = 0
        """Messages pushed out of view by newer ones (the buffer is bounded)."""
        self.follow = True
        self._items: list[Message] = []
        self._offset = 0  # absolute index of _items[0]
        self._first = 0  # absolute index of the oldest message in view
        self._total = 0  # absolute index one past the newest
        self._cursor = -1  # absolute index of the cursor
        self._cache: LRUCache[int, Text] = LRUCache(512)
        self._strips: LRUCache[tuple[int, bool, int], Strip] = LRUCache(512)
        self._base_style: Style | None = None
        self._announced: int | None = None

    # -- content -----------------------------------------------------------------------------------
    def __len__(self) -> int:
        return self._total - self._first

    @property
    def messages(self) -> list[Message]:
        """Every message in view, oldest first."""
        return self._items[self._first - self._offset :]

    def append(self, batch: Iterable[Message]) -> None:
        before = self._total
        self._items.extend(batch)
        added = len(self._items) + self._offset - before
        if not added:
            return
        self._total += added
        overflow = len(self) - self.capacity
        scroll_y = self.scroll_y
        if overflow > 0:
            self._first += overflow
            self.dropped += overflow
            scroll_y = max(0.0, scroll_y - overflow)
            if self._first - self._offset > self.capacity:
                del self._items[: self._first - self._offset]
                self._offset = self._first
        if self.follow or self._cursor < self._first:
            self._cursor = self._total - 1 if self.follow else self._first
        self._resize()
        if self.follow:
            self.scroll_end(animate=False, immediate=True, x_axis=False)
        else:
            self.scroll_to(y=scroll_y, animate=False, immediate=True)
        self.refresh()
        self._announce()

    def clear(self) -> None:
        self._items.clear()
        self._offset = self._first = self._total = 0
        self._cursor = -1
        self.dropped = 0
        self.follow = True
        self._forget_rendering()
        self._resize()
        self.refresh()
        self._announce()

    def replace(self, messages: Iterable[Message]) -> None:
        """Show `messages` instead (a new filter over the buffer); the drop count carries on."""
        dropped = self.dropped
        self.clear()
        self.append(messages)
        self.dropped = dropped

    @property
    def cursor_message(self) -> Message | None:
        if self._first <= self._cursor < self._total:
            return self._items[self._cursor - self._offset]
        return None

    def _resize(self) -> None:
        self.virtual_size = Size(self.size.width, len(self))

    def _announce(self) -> None:
        if self._cursor != self._announced:
            self._announced = self._cursor
            self.post_message(self.Highlighted(self.cursor_message))

    # -- cursor ------------------------------------------------------------------------------------
    def _move_to(self, absolute: int) -> None:
        if not len(self):
            return
        self._cursor = max(self._first, min(absolute, self._total - 1))
        self.follow = self._cursor == self._total - 1
        row = self._cursor - self._first
        height = self.scrollable_content_region.height or 1
        if row < self.scroll_y:
            self.scroll_to(y=row, animate=False, immediate=True)
        elif row >= self.scroll_y + height:
            self.scroll_to(y=row - height + 1, animate=False, immediate=True)
        self.refresh()
        self._announce()

    def action_cursor(self, step: int) -> None:
        self._move_to(self._cursor + step)

    def action_page(self, direction: int) -> None:
        self._move_to(self._cursor + direction * max(1, self.scrollable_content_region.height - 1))

    def action_first(self) -> None:
        self._move_to(self._first)

    def action_last(self) -> None:
        self._move_to(self._total - 1)

    def on_click(self, event: object) -> None:
        offset = getattr(event, "y", None)
        if isinstance(offset, int):
            self._move_to(self._first + int(self.scroll_y) + offset)

    # -- drawing -----------------------------------------------------------------------------------
    def on_resize(self) -> None:
        self._forget_rendering()
        self._resize()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._forget_rendering()

    def _forget_rendering(self) -> None:
        self._cache.clear()
        self._strips.clear()
        self._base_style = None

    def _line(self, absolute: int) -> Text:
        cached = self._cache.get(absolute)
        if cached is not None:
            return cached
        message = self._items[absolute - self._offset]
        text = Text(no_wrap=True, overflow="ellipsis")
        when = message.timestamp.strftime("%H:%M:%S.%f")[:-3] if message.timestamp else "-" * 12
        text.append(when, self.get_component_rich_style("message-list--time", partial=True))
        text.append(" ")
        text.append(
            safe_line(where(message), 40), self.get_component_rich_style("message-list--position", partial=True)
        )
        if message.key is not None:
            text.append(" ")
            text.append(key_line(message, 40), self.get_component_rich_style("message-list--key", partial=True))
        text.append(" ")
        text.append(payload_line(message, 500))
        self._cache[absolute] = text
        return text

    def render_line(self, y: int) -> Strip:
        """One row; finished strips are cached by message, so scrolling and following re-render nothing."""
        width = self.scrollable_content_region.width
        if self._base_style is None:
            self._base_style = self.rich_style  # walks the ancestors: once, not once a line
        base = self._base_style
        absolute = self._first + int(self.scroll_y) + y
        if not self._first <= absolute < self._total:
            return Strip.blank(width, base)
        is_cursor = absolute == self._cursor
        key = (absolute, is_cursor, width)
        strip = self._strips.get(key)
        if strip is not None:
            return strip
        line = self._line(absolute)
        # The cursor row is one colour: field colours on the cursor background are hard to read.
        text = Text(line.plain, no_wrap=True) if is_cursor else line.copy()
        text.truncate(width, overflow="ellipsis", pad=True)
        if is_cursor:
            text.stylize(self.get_component_rich_style("message-list--cursor", partial=True))
        text.stylize_before(base)
        strip = Strip(text.render(self.app.console), cell_len(text.plain)).crop_extend(0, width, base)
        self._strips[key] = strip
        return strip
