"""The Destinations columns' widths worked out from the records (`natural_widths`) are those of the texts
the rows are drawn with (`DestinationLook.cells`), so a row made only when it comes into view never
finds its column too narrow."""

from __future__ import annotations

from dataclasses import replace

from mqtui.jobcounts import FAILED, FRAMEWORK
from mqtui.model import Destination, DestinationKind
from mqtui.services.alerts import Alert, AlertBoard
from mqtui.services.snapshot import BrokerSnapshot, BrokerStatus
from mqtui.ui.panes.destination_cells import DestinationLook
from mqtui.ui.widgets.tablediff import text_widths
from tests.console.fixtures import NOW


def destinations(broker: str) -> list[Destination]:
    topic = DestinationKind.TOPIC
    return [
        Destination(broker, "orders", topic, depth=12_345_678, in_flight=0, consumers=3, partitions=12,
                    rate_in=99.96, rate_out=0.0),
        Destination(broker, "注文キュー-" + "x" * 40, DestinationKind.QUEUE, depth=None, in_flight=None,
                    consumers=None, rate_in=None, rate_out=None),
        Destination(broker, "\x1b]0;pwned\x07[bold]x[/]", DestinationKind.STREAM, depth=-5, rate_in=1_234.5,
                    rate_out=12.25),
        Destination(broker, "orders.DLQ", DestinationKind.QUEUE, depth=7, is_dlq=True),
        Destination(broker, "rq:queue:default", DestinationKind.LIST, depth=3,
                    extra={FRAMEWORK: "rq", FAILED: "1234567"}),
        Destination(broker, "oddly", DestinationKind.LIST, depth=1, extra={FRAMEWORK: "not-a-framework"}),
    ]  # fmt: skip


def broker(name: str, *, down: bool = False, floors: frozenset[tuple[str, str]] = frozenset()) -> BrokerSnapshot:
    status = BrokerStatus.UNREACHABLE if down else BrokerStatus.CONNECTED
    return BrokerSnapshot(name=name, kind="redis", status=status, destinations=tuple(destinations(name)),
                          rate_floors=floors, polled_at=NOW)  # fmt: skip


def measured(look: DestinationLook, rows: list[Destination]) -> tuple[int, ...]:
    widths = [text_widths(look.cells(d).texts) for d in rows]
    return tuple(max(column) for column in zip(*widths, strict=True))


def alert(broker: str, destination: str) -> Alert:
    return Alert("lag", "lag_over", broker, destination, "", NOW, "1")


def test_the_widths_worked_out_are_the_widths_of_the_texts_drawn() -> None:
    cases = [
        ([broker("a-broker-with-a-very-long-name-indeed")], AlertBoard()),
        ([broker("up", floors=frozenset({("orders", "in"), ("\x1b]0;pwned\x07[bold]x[/]", "out")})),
          broker("down", down=True, floors=frozenset({("orders", "out")}))], AlertBoard()),
        ([broker("b1"), broker("b2-longer")], AlertBoard(open=(alert("b1", "orders"), alert("b9", "orders")))),
    ]  # fmt: skip
    for snapshots, board in cases:
        look = DestinationLook(snapshots, {"muted": "grey50", "lag-critical": "red"}, board)
        rows = [d for s in snapshots for d in s.destinations]
        assert look.natural_widths(rows) == measured(look, rows)
        for cut in (rows[:1], rows[1:2], rows[3:], [replace(rows[0], rate_in=100.0, rate_out=None)]):
            assert look.natural_widths(cut) == measured(look, cut), cut
