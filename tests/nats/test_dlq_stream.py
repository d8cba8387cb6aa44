"""`create_dlq_stream`: never in a readonly profile, bounded, and only for advisories no stream captures whole.

Each test has a private server: the advisory DLQ stream is account-wide, and JetStream refuses a second
stream whose subjects overlap it.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import nats.js.errors
import pytest

from mqtui.brokers.nats.dlq import ADVISORY_SUBJECTS, StreamFacts, plan_dlq_stream, subject_covers
from mqtui.demo.localbrokers import LocalNats
from tests.helpers import run_mqtui, write_config
from tests.nats.support import adapter_for, client_for

MAX_DELIVERIES, MSG_TERMINATED = ADVISORY_SUBJECTS
ADVISORY = "$JS.EVENT.ADVISORY.CONSUMER"


async def _stream_names(server: LocalNats) -> list[str]:
    async with client_for(server) as nc:
        return sorted(info.config.name for info in await nc.jetstream().streams_info())


async def test_a_readonly_profile_never_creates_the_dlq_stream(private_nats: LocalNats, tmp_path: Path) -> None:
    broker = {"name": "nt", "kind": "nats", "url": private_nats.url, "timeout": 3.0, "create_dlq_stream": True,
              "dlq_stream": "DEADLETTERS"}  # fmt: skip
    config = write_config(tmp_path / "c.toml", {"ro": {"readonly": True, "brokers": [broker]},
                                                "rw": {"brokers": [broker]}})  # fmt: skip
    warning = "mqtui: warning: broker 'nt': create_dlq_stream = true is ignored in a readonly profile (no DLQ " \
        "stream is created)"  # fmt: skip

    listed = await asyncio.to_thread(run_mqtui, "--config", str(config), "-p", "ro", "ls", "--json")
    assert listed.code == 0, listed.err
    assert listed.err.splitlines() == [warning]
    dlqs = await asyncio.to_thread(run_mqtui, "--config", str(config), "-p", "ro", "dlq", "ls")
    assert dlqs.code == 0 and dlqs.err.splitlines() == [warning]
    assert await _stream_names(private_nats) == []

    written = await asyncio.to_thread(run_mqtui, "--config", str(config), "-p", "rw", "ls", "--json")
    assert written.code == 0 and written.err == ""
    assert await _stream_names(private_nats) == ["DEADLETTERS"]  # the same broker entry, writable, creates it


async def test_the_created_stream_is_bounded(private_nats: LocalNats) -> None:
    async with adapter_for(private_nats, create_dlq_stream=True) as adapter:
        assert adapter.dlq_stream_status == f"created: DLQ ({MAX_DELIVERIES}, {MSG_TERMINATED})"
        async with client_for(private_nats) as nc:
            info = await nc.jetstream().stream_info("DLQ")
        assert (info.config.max_age, info.config.max_msgs, info.config.max_bytes) == (7 * 24 * 3600, 1_000_000, 1 << 30)
        summary = dict((await adapter.describe_server()).summary)
        assert summary["dlq stream (create_dlq_stream)"] == adapter.dlq_stream_status
        assert adapter.notices == []  # every advisory is captured: nothing to say


async def test_a_stream_capturing_one_streams_advisories_does_not_stop_the_creation(private_nats: LocalNats) -> None:
    narrow = f"{ADVISORY}.MAX_DELIVERIES.S1.>"
    async with client_for(private_nats) as nc:
        js = nc.jetstream()
        await js.add_stream(name="S1DLQ", subjects=[narrow])
        with pytest.raises(nats.js.errors.BadRequestError) as refused:  # why the whole family cannot be taken
            await js.add_stream(name="PROBE", subjects=[MAX_DELIVERIES])
        assert refused.value.err_code == 10065
        async with adapter_for(private_nats, create_dlq_stream=True) as adapter:
            status = adapter.dlq_stream_status
            assert (
                status
                == f"created: DLQ ({MSG_TERMINATED}); not captured: {MAX_DELIVERIES} is captured in part by S1DLQ"
            )
            assert adapter.notices == [f"{adapter.name}: create_dlq_stream: {status}"]  # CLI stderr, console status
        info = await js.stream_info("DLQ")
        assert info.config.subjects == [MSG_TERMINATED]

        await js.delete_stream("DLQ")
        await js.add_stream(name="S1TERM", subjects=[f"{ADVISORY}.MSG_TERMINATED.S1.>"])
        async with adapter_for(private_nats, create_dlq_stream=True) as adapter:  # both families blocked: connects
            assert adapter.dlq_stream_status == (
                f"not created: {MAX_DELIVERIES} is captured in part by S1DLQ; {MSG_TERMINATED} is captured in part "
                "by S1TERM (JetStream refuses overlapping stream subjects)"
            )
            assert {q.name for q in await adapter.dead_letter_queues()} == {"S1DLQ", "S1TERM"}
    assert await _stream_names(private_nats) == ["S1DLQ", "S1TERM"]


async def test_a_stream_capturing_every_advisory_makes_the_creation_unneeded(private_nats: LocalNats) -> None:
    async with client_for(private_nats) as nc:
        await nc.jetstream().add_stream(name="ALLADV", subjects=["$JS.EVENT.ADVISORY.CONSUMER.*.>"])
    async with adapter_for(private_nats, create_dlq_stream=True) as adapter:
        assert adapter.dlq_stream_status == "not needed: other streams capture every advisory"
    assert await _stream_names(private_nats) == ["ALLADV"]


@pytest.mark.parametrize(
    ("pattern", "subjects", "covers"),
    [
        ("a.>", "a.b.c", True),
        ("a.>", "a.>", True),
        ("a.*.>", "a.>", False),  # a.> holds a.b, which a.*.> does not
        ("a.*", "a.*", True),
        ("a.b", "a.*", False),
        ("a.*", "a.b.c", False),
        (">", "$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.>", True),
        ("a.b", "a.b", True),
        ("a.b.c", "a.b", False),
    ],
)
def test_subject_covers(pattern: str, subjects: str, covers: bool) -> None:
    assert subject_covers(pattern, subjects) is covers


def test_plan_per_advisory_family() -> None:
    def stream(name: str, *subjects: str) -> StreamFacts:
        return StreamFacts(name=name, subjects=subjects, messages=0, first_seq=0, last_seq=0)

    assert plan_dlq_stream([stream("ORDERS", "orders.>")]).subjects == ADVISORY_SUBJECTS
    whole = plan_dlq_stream([stream("MD", MAX_DELIVERIES)])
    assert (whole.subjects, whole.blocked) == ((MSG_TERMINATED,), ())
    wide = plan_dlq_stream([stream("ALL", "$JS.EVENT.>")])
    assert (wide.subjects, wide.blocked) == ((), ())
    part = plan_dlq_stream([stream("P", f"{ADVISORY}.MSG_TERMINATED.*.worker")])
    assert (part.subjects, part.blocked) == ((MAX_DELIVERIES,), ((MSG_TERMINATED, ("P",)),))
