"""The lag history turns polls into states: exact numbers from fixed samples, no broker needed."""

from __future__ import annotations

from mqtui.model import BacklogRow, Destination, DestinationKind
from mqtui.services.history import LagHistory, RateHistory
from mqtui.services.snapshot import GroupLag, LagState, group_backlog
from mqtui.ui.cells import lag_variable, trend_text
from mqtui.ui.panes.destination_cells import rate_text
from mqtui.ui.panes.lag import rank


def group(
    lag: int | None,
    committed: int | None = None,
    end: int | None = None,
    consumers: int | None = 1,
    rate_out: float | None = None,
) -> GroupLag:
    rows = [BacklogRow("k", "orders", "billing", 0, committed=committed, end=end, lag=lag, consumers=consumers)]
    return group_backlog(rows, {"orders": rate_out} if rate_out is not None else None)[0]


def feed(history: LagHistory, samples: list[GroupLag], step: float = 2.0) -> GroupLag:
    result = None
    for index, sample in enumerate(samples):
        result = history.observe("k", [sample], at=index * step)[0]
    assert result is not None
    return result


def test_group_backlog_sums_partitions_and_keeps_members() -> None:
    rows = [
        BacklogRow("k", "orders", "billing", 1, committed=10, end=40, lag=30, consumers=2, members=("m1",)),
        BacklogRow("k", "orders", "billing", 0, committed=5, end=25, lag=20, consumers=2, members=("m2", "m1")),
        BacklogRow("k", "orders", "audit", 0, committed=None, end=25, lag=25, consumers=0),
    ]
    billing, audit = group_backlog(rows)
    assert (billing.lag, billing.committed, billing.end, billing.partitions) == (50, 15, 65, 2)
    assert [r.partition for r in billing.rows] == [0, 1]
    assert billing.members == ("m1", "m2")
    assert (audit.lag, audit.committed, audit.end) == (25, None, 25)


def test_draining_consumer_has_a_consume_rate_and_eta() -> None:
    # committed advances 100 per 2 s poll while lag falls 40 per poll: 50 msg/s consumed.
    samples = [group(1000 - 40 * i, committed=100 * i) for i in range(4)]
    row = feed(LagHistory(stall_polls=3), samples)
    assert row.trend.state is LagState.DRAINING
    assert row.trend.consume_rate == 50.0
    assert row.trend.rate == -20.0
    assert row.trend.eta == 880 / 20.0  # at the rate the lag falls: 30/s keep arriving
    assert row.trend.history == (1000, 960, 920, 880)


def test_a_steady_lag_that_is_consumed_is_keeping_up_with_no_eta() -> None:
    samples = [group(200 + (5 if i % 2 else 0) - i, committed=400 * i) for i in range(6)]  # -0.5/s: noise
    row = feed(LagHistory(stall_polls=3), samples)
    assert (row.trend.state, row.trend.consume_rate, row.trend.eta) == (LagState.DRAINING, 200.0, None)
    assert trend_text(row.trend) == "keeping up"


def test_growing_lag_has_no_eta() -> None:
    samples = [group(100 + 30 * i, committed=10 * i) for i in range(4)]
    row = feed(LagHistory(stall_polls=3), samples)
    assert row.trend.state is LagState.GROWING
    assert row.trend.rate == 15.0
    assert row.trend.eta is None


def test_no_progress_for_stall_polls_is_stalled() -> None:
    history = LagHistory(stall_polls=3)
    # Three polls without progress are not yet "for 3 polls": that needs 4 samples.
    row = feed(history, [group(500 + i, committed=7) for i in range(3)])
    assert row.trend.state is LagState.GROWING
    row = history.observe("k", [group(503, committed=7)], at=6.0)[0]
    assert row.trend.state is LagState.STALLED
    # One poll with progress ends the stall.
    row = history.observe("k", [group(503, committed=8)], at=8.0)[0]
    assert row.trend.state is not LagState.STALLED


def test_consumption_from_the_brokers_out_rate_when_nothing_is_committed() -> None:
    # A queue: no committed position, its depth grows 20 per 2 s poll while the broker reports 4 msg/s out.
    samples = [group(100 + 20 * i, end=100 + 20 * i, rate_out=4.0) for i in range(7)]
    row = feed(LagHistory(stall_polls=3), samples)
    assert row.trend.consume_rate == 4.0
    assert row.trend.state is LagState.GROWING  # consuming, but slower than the producer: not stalled
    # A reported 0.0 is no proof of a stall while a consumer is attached (management rates flap to 0)...
    flapping = feed(LagHistory(stall_polls=3), [group(100, rate_out=0.0) for _ in range(4)])
    assert flapping.trend.state is LagState.DRAINING
    # ...but with nobody attached, a backlog that does not move is stalled.
    abandoned = feed(LagHistory(stall_polls=3), [group(100, rate_out=0.0, consumers=0) for _ in range(4)])
    assert abandoned.trend.state is LagState.STALLED


def test_progress_wins_over_a_zero_consumer_count() -> None:
    # tansu reports no members for a group that commits: its commits prove it is consuming.
    samples = [group(500 + 10 * i, committed=100 * i, consumers=0) for i in range(8)]
    row = feed(LagHistory(stall_polls=3), samples)
    assert row.trend.state is LagState.GROWING


def test_steady_lag_without_positions_is_not_called_stalled_unless_nobody_consumes() -> None:
    history = LagHistory(stall_polls=2)
    row = feed(history, [group(40, consumers=3) for _ in range(5)])
    assert row.trend.state is LagState.DRAINING
    assert row.trend.consume_rate is None
    history = LagHistory(stall_polls=2)
    row = feed(history, [group(40, consumers=0) for _ in range(3)])
    assert row.trend.state is LagState.STALLED


def test_zero_lag_is_ok_and_unknown_lag_is_unknown() -> None:
    assert feed(LagHistory(), [group(0, committed=5)]).trend.state is LagState.OK
    assert feed(LagHistory(), [group(None)]).trend.state is LagState.UNKNOWN


def test_history_is_bounded_and_forgets_vanished_groups() -> None:
    history = LagHistory(size=8)
    row = feed(history, [group(i, committed=i) for i in range(1, 30)])
    assert len(row.trend.history) == 8
    assert len(history) == 1
    history.observe("k", [], at=100.0)
    assert len(history) == 0


def test_a_consumer_keeping_up_between_commits_is_not_growing() -> None:
    # Commits in bursts: the lag saw-tooths upwards a little while 150 msg/s are consumed.
    lags = [40, 60, 42, 63, 45, 66]
    samples = [group(lag, committed=300 * i) for i, lag in enumerate(lags)]
    row = feed(LagHistory(stall_polls=3), samples)
    assert row.trend.consume_rate == 150.0
    assert 0 < (row.trend.rate or 0) < 0.05 * 150
    assert row.trend.state is LagState.DRAINING


def destination(name: str, kind: DestinationKind, *, depth: int | None = None, appended: int | None = None,
                rate_in: float | None = None, rate_out: float | None = None) -> Destination:  # fmt: skip
    return Destination("k", name, kind, depth=depth, appended=appended, rate_in=rate_in, rate_out=rate_out)


def test_rates_from_the_appended_counter_and_the_groups_progress() -> None:
    lags, rates = LagHistory(stall_polls=3), RateHistory()
    for i in range(7):  # 40 appended per 2 s poll; billing commits 30, audit 10 per poll
        rows = [
            BacklogRow("k", "orders", "billing", 0, committed=50 + 30 * i, end=100 + 40 * i, lag=50 + 10 * i),
            BacklogRow("k", "orders", "audit", 0, committed=10 + 10 * i, end=100 + 40 * i, lag=90 + 30 * i),
        ]
        groups = lags.observe("k", group_backlog(rows), at=2.0 * i)
        topics = [
            destination("orders", DestinationKind.TOPIC, depth=100 + 40 * i, appended=100 + 40 * i),
            destination("emails", DestinationKind.QUEUE, depth=9, rate_in=7.5, rate_out=2.5),  # reported: kept
            destination("idle", DestinationKind.TOPIC, depth=5, appended=5),
        ]
        rated, floors = rates.observe("k", topics, groups, at=2.0 * i)
    by_name = {d.name: d for d in rated}
    assert (by_name["orders"].rate_in, by_name["orders"].rate_out) == (20.0, 20.0)  # 15/s + 5/s out
    assert (by_name["emails"].rate_in, by_name["emails"].rate_out) == (7.5, 2.5)
    assert (by_name["idle"].rate_in, by_name["idle"].rate_out) == (0.0, None)  # nobody reads it: unknown
    assert floors == frozenset()
    assert len(rates) == 3
    rates.observe("k", [], [], at=20.0)
    assert len(rates) == 0  # vanished destinations are forgotten


def test_a_restarted_counter_starts_the_window_again() -> None:
    rates = RateHistory()
    for at, appended in ((0.0, 500), (2.0, 520), (4.0, 10)):
        rated, _ = rates.observe("k", [destination("s", DestinationKind.STREAM, appended=appended)], [], at)
    assert rated[0].rate_in is None
    rated, _ = rates.observe("k", [destination("s", DestinationKind.STREAM, appended=30)], [], 6.0)
    assert rated[0].rate_in == 10.0


def test_depth_changes_without_a_counter_are_lower_bounds() -> None:
    rates = RateHistory()
    for i in range(3):  # a list: 6 more per poll, another: 10 fewer per poll
        lists = [
            destination("jobs", DestinationKind.LIST, depth=10 + 6 * i),
            destination("mail", DestinationKind.LIST, depth=50 - 10 * i),
            destination("steady", DestinationKind.LIST, depth=4),
        ]
        rated, floors = rates.observe("k", lists, [], at=2.0 * i)
    by_name = {d.name: d for d in rated}
    assert (by_name["jobs"].rate_in, by_name["jobs"].rate_out) == (3.0, None)
    assert (by_name["mail"].rate_in, by_name["mail"].rate_out) == (None, 5.0)
    assert (by_name["steady"].rate_in, by_name["steady"].rate_out) == (None, None)
    assert floors == {("jobs", "in"), ("mail", "out")}
    assert rate_text(3.0, at_least=True) == "≥3.0/s" and rate_text(None, at_least=True) == "-"


def test_stream_group_consumption_from_the_counter_and_the_lag() -> None:
    # A Redis stream group: ids are not numbers, but appended - lag is what the group has read.
    history = LagHistory(stall_polls=3)
    for i in range(4):  # 10 appended and 6 read per 2 s poll
        row = BacklogRow("k", "events", "workers", committed=f"{i}-0", lag=4 * i, consumers=1)
        result = history.observe("k", group_backlog([row], appended={"events": 10 * i}), at=2.0 * i)[0]
    assert result.trend.consume_rate == 3.0
    assert result.trend.state is LagState.GROWING
    stalled = LagHistory(stall_polls=3)
    for i in range(4):  # consumers attached, nothing read while 10 arrive per poll: stalled
        row = BacklogRow("k", "events", "workers", committed="0-0", lag=10 + 10 * i, consumers=1)
        result = stalled.observe("k", group_backlog([row], appended={"events": 10 * i}), at=2.0 * i)[0]
    assert result.trend.state is LagState.STALLED


def test_a_queue_nobody_consumes_is_stalled_from_the_first_poll() -> None:
    history = LagHistory(stall_polls=5)
    row = history.observe("k", [group(120, consumers=0)], at=0.0)[0]
    assert row.trend.state is LagState.STALLED  # not "draining" with no ETA while 5 polls go by
    row = history.observe("k", [group(120, consumers=0)], at=2.0)[0]
    assert row.trend.state is LagState.STALLED
    assert trend_text(row.trend, row.consumers) == "no consumers"
    assert lag_variable(row.trend.state) == "lag-critical"  # the theme's stalled colour
    assert rank([row, feed(LagHistory(), [group(5000 - 100 * i, committed=100 * i) for i in range(3)])])[0] is row
    # Something took messages (a basic.get poller counts as no consumer): not stalled.
    row = history.observe("k", [group(90, consumers=0)], at=4.0)[0]
    assert row.trend.state is LagState.DRAINING
    polled = LagHistory(stall_polls=5).observe("k", [group(120, consumers=0, rate_out=3.0)], at=0.0)[0]
    assert polled.trend.state is not LagState.STALLED
    # A log's group keeps the stall rule: tansu lists no members for a group that commits.
    kafka = feed(LagHistory(stall_polls=5), [group(500, committed=10, consumers=0) for _ in range(3)])
    assert kafka.trend.state is not LagState.STALLED
    assert trend_text(kafka.trend, kafka.consumers) != "no consumers"
