"""What judging alert rules costs, as a share of the poll it judges (target: under 5%).

The same Kafka data as `history_record.py`: 6,000 backlog rows as 200 groups x 30 partitions ("wide")
and as 6,000 one-partition groups ("narrow"). Each poll is a real `BrokerPoller.poll_once` over the
Kafka adapter, as the console polls; judging is `AlertBook.observe` on its snapshot (what
`ConsoleBackend.judge` runs on the backend loop after every poll) with the two default rules and three
more of the issue's (lag over 10,000, time lag over 10m on a glob, growing for 15m): five rules matched
against every group. The groups are 2 behind with records written now, so no rule opens: the figure is
the matching and bookkeeping every poll pays, not the rare opening.

Each figure is the median of RUNS polls after a first one (which also makes each row's state; noted).
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

from common import QUIET, figure, header, local_brokers, median, note
from confluent_kafka.admin import AdminClient
from history_record import PARTITIONS, TOPICS, commit_groups
from kafka_data import create_topics, fill_single

from mqtui.config import KafkaConfig
from mqtui.config.alerts import DEFAULT_RULES, AlertRule
from mqtui.services.alerts import AlertBook
from mqtui.services.poller import BrokerPoller

RUNS = 7
TARGET = 0.05
RULES = [
    *DEFAULT_RULES,
    AlertRule(lag_over=10_000),
    AlertRule(time_lag_over="10m", group="narrow-1*"),
    AlertRule(growing_for="15m"),
]


async def measure(url: str, shape: str) -> None:
    poller = BrokerPoller(KafkaConfig(name="bench-kafka", url=url, timeout=30), interval=2.0, listener=lambda s: None)
    book = AlertBook(RULES)
    polls: list[float] = []
    judged: list[float] = []
    groups = 0
    try:
        for run in range(RUNS + 1):
            started = time.perf_counter()
            await poller.poll_once()
            poll = time.perf_counter() - started
            snapshot = poller.latest
            groups = len(snapshot.lag)
            started = time.perf_counter()
            changes = book.observe(snapshot, datetime.now(UTC))
            judge = time.perf_counter() - started
            assert not changes, f"{shape}: the data opened alerts: {changes[:3]}"
            if run == 0:
                note(f"{shape}: first poll {poll * 1000:.0f} ms, first judging {judge * 1000:.1f} ms (row states made)")
                continue
            polls.append(poll)
            judged.append(judge)
    finally:
        await poller.close()
    poll = median(polls)
    share = median(judged) / poll
    figure(f"alert rules judged per poll, {groups:,} groups x {len(RULES)} rules", f"{median(judged) * 1000:6.1f} ms",
           f"poll of 6,000 rows {poll * 1000:.0f} ms", share, "<5%", share < TARGET)  # fmt: skip


def main() -> None:
    header("alert rules: judging cost per poll")
    for shape in ("wide", "narrow"):  # a broker each: the poll sees only this shape's groups
        with local_brokers("kafka") as brokers:
            url = brokers["kafka"].url
            topics = [f"hist-t{i:02d}" for i in range(TOPICS)]
            create_topics(url, topics, PARTITIONS)
            for topic in topics:
                fill_single(url, topic, per_partition=3, partitions=PARTITIONS)
            commit_groups(AdminClient({"bootstrap.servers": url, **QUIET}), shape)
            asyncio.run(measure(url, shape))


if __name__ == "__main__":
    main()
