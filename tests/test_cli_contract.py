"""The CLI contract every broker shares: exit codes, one-line errors, lazy imports, readonly."""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path

import orjson
import pytest

from mqtui.demo.localbrokers import LocalNats, LocalRedis
from tests.helpers import run_mqtui, write_config

CLIENTS = ("confluent_kafka", "pika", "redis", "nats", "textual")


@pytest.mark.parametrize("flag", ["--help", "--version"])
def test_help_and_version_import_no_broker_client(flag: str) -> None:
    probe = (
        "import sys; from mqtui.cli import main\n"
        f"code = main([{flag!r}])\n"
        f"loaded = [m for m in {CLIENTS!r} if m in sys.modules]\n"
        "print('LOADED', loaded)\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert "LOADED []" in done.stdout


def assert_one_line_error(result, code: int, *fragments: str) -> None:  # type: ignore[no-untyped-def]
    assert result.code == code, result
    assert "Traceback" not in result.err
    lines = result.err.strip().splitlines()
    assert len(lines) == 1, result.err
    assert lines[0].startswith("mqtui: error: ")
    for fragment in fragments:
        assert fragment in lines[0]


def test_unknown_profile(tmp_path: Path) -> None:
    config = write_config(tmp_path / "c.toml", {"prod": {"brokers": []}})
    result = run_mqtui("--config", str(config), "--profile", "nosuch", "ls")
    assert_one_line_error(result, 2, "unknown profile 'nosuch'", "prod", "demo")


def test_toml_syntax_error(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text("[profiles.prod\n")
    assert_one_line_error(run_mqtui("--config", str(config), "--profile", "prod", "ls"), 2, "TOML syntax error")


def test_unknown_key(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text("[profiles.prod]\nreadonly = true\nfrobnicate = 1\n")
    assert_one_line_error(
        run_mqtui("--config", str(config), "--profile", "prod", "ls"),
        2,
        str(config),
        "profile 'prod'",
        "frobnicate",
    )


def test_missing_environment_variable(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text('[[profiles.prod.brokers]]\nname = "r"\nkind = "redis"\nurl = "redis://${MQTUI_TEST_NOPE}/0"\n')
    assert_one_line_error(
        run_mqtui("--config", str(config), "--profile", "prod", "ls"), 2, "MQTUI_TEST_NOPE", "profile 'prod'"
    )


def test_unknown_broker_name(tmp_path: Path) -> None:
    config = write_config(
        tmp_path / "c.toml",
        {"p": {"brokers": [{"name": "r", "kind": "redis", "url": "redis://127.0.0.1:1/0"}]}},
    )
    assert_one_line_error(
        run_mqtui("--config", str(config), "-p", "p", "tail", "nope", "q"), 2, "unknown broker 'nope'"
    )


def test_bad_arguments_exit_2_with_one_line() -> None:
    assert_one_line_error(run_mqtui("tail"), 2, "the following arguments are required")
    assert_one_line_error(run_mqtui("frobnicate"), 2, "invalid choice")


def test_bad_from_value(tmp_path: Path) -> None:
    config = write_config(
        tmp_path / "c.toml",
        {"p": {"brokers": [{"name": "r", "kind": "redis", "url": "redis://127.0.0.1:1/0", "timeout": 0.5}]}},
    )
    result = run_mqtui("--config", str(config), "-p", "p", "tail", "r", "q", "--from", "yesterday-ish")
    assert_one_line_error(result, 2, "--from must be")


@pytest.mark.parametrize(
    "args",
    [
        ("publish", "b", "q", "--value", "x", "--yes"),
        ("purge", "b", "q", "--yes"),
        ("reset-offsets", "b", "g", "--to", "earliest", "--yes"),
        ("dlq", "replay", "b", "q.DLQ", "--yes"),
        ("dlq", "delete", "b", "q.DLQ", "--id", "1", "--yes"),
        ("peek", "rb", "q", "--yes"),  # a RabbitMQ peek marks messages redelivered; a Redis one only reads
        ("request", "b", "svc", "--yes"),
    ],
)
def test_readonly_profile_refuses_every_write_with_exit_3(tmp_path: Path, args: tuple[str, ...]) -> None:
    config = write_config(tmp_path / "c.toml", {"prod": {"readonly": True, "brokers": [
        {"name": "b", "kind": "redis", "url": "redis://127.0.0.1:1/0"},
        {"name": "rb", "kind": "rabbitmq", "url": "amqp://127.0.0.1:1/"}]}})  # fmt: skip
    result = run_mqtui("--config", str(config), "--profile", "prod", *args)
    assert_one_line_error(result, 3, "readonly")


def test_write_without_yes_refuses_when_stdin_is_not_a_terminal(tmp_path: Path) -> None:
    config = write_config(
        tmp_path / "c.toml",
        {"p": {"brokers": [{"name": "b", "kind": "redis", "url": "redis://127.0.0.1:1/0"}]}},
    )
    result = run_mqtui("--config", str(config), "-p", "p", "purge", "b", "q")
    assert_one_line_error(result, 1, "refused without --yes")


def test_unreachable_broker_is_one_line_within_the_timeout(tmp_path: Path) -> None:
    import socket

    with socket.socket() as sock:  # a port with nothing listening
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = write_config(tmp_path / "c.toml", {"p": {"brokers": [
        {"name": "down", "kind": "redis", "url": f"redis://127.0.0.1:{port}/0", "timeout": 1.0}]}})  # fmt: skip
    result = run_mqtui("--config", str(config), "-p", "p", "ls", timeout=30)
    assert result.code == 1
    assert "Traceback" not in result.err
    assert "down" in result.err


def test_profiles_lists_config_profiles_and_the_builtin_demo(tmp_path: Path) -> None:
    config = write_config(tmp_path / "c.toml", {"prod": {"readonly": True, "production": True, "brokers": [
        {"name": "k", "kind": "kafka", "url": "h:9092"}]}})  # fmt: skip
    result = run_mqtui("--config", str(config), "profiles", "--json")
    assert result.code == 0, result.err
    rows = {row["name"]: row for row in result.json_lines()}
    assert rows["prod"]["readonly"] is True and rows["prod"]["brokers"] == ["k (kafka)"]
    assert rows["demo"]["builtin"] is True


@pytest.mark.parametrize("command", [("ls",), ("profiles",)])
def test_world_readable_config_with_secrets_warns(tmp_path: Path, command: tuple[str, ...]) -> None:
    config = write_config(tmp_path / "c.toml", {"p": {"brokers": [
        {"name": "b", "kind": "redis", "url": "redis://127.0.0.1:1/0", "password": "hunter2", "timeout": 0.5}]}})  # fmt: skip
    config.chmod(0o644)
    result = run_mqtui("--config", str(config), "-p", "p", *command)
    assert f"mqtui: warning: {config} holds credentials and is readable by other users" in result.err
    assert "hunter2" not in result.err + result.out


def test_world_readable_config_with_secrets_only_from_the_environment_does_not_warn(tmp_path: Path) -> None:
    config = write_config(tmp_path / "c.toml", {"p": {"brokers": [
        {"name": "b", "kind": "redis", "url": "redis://:${MQTUI_TEST_PW}@127.0.0.1:1/0",
         "password": "${MQTUI_TEST_PW}"}]}})  # fmt: skip
    config.chmod(0o644)
    result = run_mqtui("--config", str(config), "profiles", env={"MQTUI_TEST_PW": "from-the-env"})
    assert result.code == 0 and result.err == "", result


def closed_redis(tmp_path: Path) -> Path:
    return write_config(tmp_path / "c.toml", {"p": {"brokers": [
        {"name": "r", "kind": "redis", "url": "redis://127.0.0.1:1/0", "timeout": 0.5}]}})  # fmt: skip


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (("reset-offsets", "r", "g", "--to", "bogus", "--yes"), ("--to must be beginning, end",)),
        (("tail", "r", "s", "--from", "999999999999999999999-0"), ("--from: each part of a stream id is at most",)),
        (("tail", "r", "s", "--from", "99999999999999999999"), ("--from: offset", "larger than any broker's")),
        (("tail", "r", "s", "--from", "\u0663"), ("--from must be",)),
        (("request", "r", "svc", "--timeout", "-1", "--yes"), ("argument --timeout", "not '-1'")),
        (("request", "r", "svc", "--timeout", "nan", "--yes"), ("argument --timeout", "not 'nan'")),
        (("request", "r", "svc", "--timeout", "inf", "--yes"), ("argument --timeout",)),
        (("publish", "r", "q", "--value", "x", "--header", "novalue", "--yes"),
         ("--header must look like KEY=VALUE, not 'novalue'",)),
        (("publish", "r", "q", "--value", "x", "--header", "=v", "--yes"), ("--header must look like KEY=VALUE",)),
        (("request", "r", "svc", "--header", "novalue", "--yes"), ("--header must look like KEY=VALUE",)),
    ],
)  # fmt: skip
def test_bad_argument_values_exit_2_before_reaching_the_broker(
    tmp_path: Path, args: tuple[str, ...], fragments: tuple[str, ...]
) -> None:
    """The broker is down: an exit 1 would mean the value was only refused by trying it on the broker."""
    result = run_mqtui("--config", str(closed_redis(tmp_path)), "-p", "p", *args)
    assert_one_line_error(result, 2, *fragments)


def test_tail_of_a_missing_redis_key_says_so(tmp_path: Path, redis_server: LocalRedis) -> None:
    """Redis tails a missing key as the empty list it may become: with --end that is pointless (exit 2);
    without, the tail says it waits, and shows the first message once the key appears."""
    import redis

    key = f"nosuch-{uuid.uuid4().hex[:8]}"
    config = write_config(tmp_path / "c.toml", {"p": {"brokers": [redis_server.broker_config()]}})
    base = ["--config", str(config), "-p", "p", "tail", redis_server.name, key]
    ended = run_mqtui(*base, "--end")
    assert_one_line_error(ended, 2, f"no such destination '{key}' on broker {redis_server.name}: nothing to read")
    tail = subprocess.Popen([sys.executable, "-m", "mqtui", *base, "--from", "beginning", "--limit", "1", "--json"],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        assert tail.stderr is not None
        notice = tail.stderr.readline()  # printed before the tail starts reading
        assert (
            notice == f"mqtui: no such destination '{key}' on broker {redis_server.name} (waiting for it to appear)\n"
        )
        redis.Redis.from_url(redis_server.url).rpush(key, b"arrived")
        out, err = tail.communicate(timeout=60)
    finally:
        tail.kill()
        tail.wait()
    assert tail.returncode == 0 and err == "", err
    assert '"value":"arrived"' in out.replace(" ", "")


def test_tail_of_an_existing_redis_key_gives_no_notice(tmp_path: Path, redis_server: LocalRedis) -> None:
    import redis

    key = f"present-{uuid.uuid4().hex[:8]}"
    redis.Redis.from_url(redis_server.url).rpush(key, b"here")
    config = write_config(tmp_path / "c.toml", {"p": {"brokers": [redis_server.broker_config()]}})
    result = run_mqtui("--config", str(config), "-p", "p", "tail", redis_server.name, key, "--from", "beginning",
                       "--end")  # fmt: skip
    assert result.code == 0 and result.err == "" and "here" in result.out, result


def test_tail_to_the_end_of_a_nats_subject_nobody_uses_exits_2(tmp_path: Path, nats_server: LocalNats) -> None:
    subject = f"nosuch.{uuid.uuid4().hex[:8]}"
    config = write_config(tmp_path / "c.toml", {"p": {"brokers": [nats_server.broker_config()]}})
    result = run_mqtui("--config", str(config), "-p", "p", "tail", nats_server.name, subject, "--end")
    assert_one_line_error(result, 2, f"no such destination '{subject}' on broker {nats_server.name}")


def test_lag_shows_time_lag_beside_the_lag(tmp_path: Path, redis_server: LocalRedis) -> None:
    """`lag --json` adds `time_lag_s` (0 for a group with nothing waiting), `oldest_waiting_at` and
    `time_lag_unknown` to each row; the table adds a TIME LAG column. The numbers themselves are the
    adapters' (their own tests plant message times)."""
    import redis

    stream = f"timelag-{uuid.uuid4().hex[:8]}"
    raw = redis.Redis.from_url(redis_server.url)
    raw.xadd(stream, {"n": "1"})
    raw.xgroup_create(stream, "done", id="$")
    config = write_config(tmp_path / "c.toml", {"p": {"brokers": [redis_server.broker_config()]}})
    result = run_mqtui("--config", str(config), "-p", "p", "lag", "--group", "done", "--json")
    assert result.code == 0, result
    rows = [orjson.loads(line) for line in result.out.splitlines()]
    row = next(r for r in rows if r["destination"] == stream)
    assert (row["lag"], row["time_lag_s"], row["oldest_waiting_at"], row["time_lag_unknown"]) == (0, 0.0, None, None)
    human = run_mqtui("--config", str(config), "-p", "p", "lag", "--group", "done")
    assert human.code == 0 and human.out.splitlines()[0].split("  ")[:1] == ["BROKER"], human
    header = human.out.splitlines()[0]
    assert "TIME LAG" in header and header.index("LAG") < header.index("TIME LAG") < header.index("IN-FLIGHT")
    line = next(x for x in human.out.splitlines() if stream in x)
    assert " 0s " in line
