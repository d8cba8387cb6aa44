"""Snapshot files are untrusted input: a truncated, hostile or too new one is one line and exit 2 from
`mqtui open` (and `--snapshot`), before any screen is drawn; never a traceback."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mqtui.cli import main
from mqtui.config import parse_config
from mqtui.model import Decoded, Message
from mqtui.services.incident import RecordedTail, build_document, write_document
from mqtui.services.incident_reader import MAX_STRING, read_document
from tests.console.fixtures import NOW, static_backend
from tests.console.offline_fixtures import fixed_snapshot_file


@pytest.fixture
def good(tmp_path: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(fixed_snapshot_file(tmp_path / "good.json").read_text())
    return document


def opened(path: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main([*args] if args else ["open", str(path)])
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "\x1b" not in err and "Traceback" not in err
    return code, lines[0]


def write(tmp_path: Path, document: Any) -> Path:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(document))
    return path


def test_the_good_file_reads_back(tmp_path: Path) -> None:
    incident = read_document(fixed_snapshot_file(tmp_path / "good.json"))
    assert incident.profile.name == "prod" and len(incident.snapshots) == 3


def test_messages_come_back_exactly_decoded_values_included(tmp_path: Path) -> None:
    message = Message("k", "orders", 0, 7, NOW, b"\xff", b"\x81\xa1a\x01", (("h", b"\x80"), ("t", "text"), ("n", 3)),
                      decoded=Decoded("msgpack", {"a": 1}))  # fmt: skip
    backend = static_backend()
    snapshots = list(backend.snapshots().values())
    document = build_document(
        "p", backend.profile, snapshots, NOW, tail=RecordedTail("orders-kafka", "orders", (message,))
    )
    incident = read_document(write_document(document, tmp_path / "one.json"))
    assert incident.tail is not None and incident.tail.messages == (message,)


def test_truncated(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = fixed_snapshot_file(tmp_path / "cut.json").read_bytes()
    path = tmp_path / "cut.json"
    path.write_bytes(text[: len(text) // 2])
    code, line = opened(path, capsys)
    assert code == 2 and line.startswith(f"mqtui: error: snapshot {path}: not JSON, or cut short")


def test_written_by_a_newer_mqtui(tmp_path: Path, good: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, {**good, "version": 2, "mqtui_version": "9.0.0", "new_field": {"x": 1}})
    code, line = opened(path, capsys)
    assert code == 2
    assert "written by a newer mqtui (9.0.0, format version 2)" in line and "upgrade mqtui" in line


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda d: d.update(format="something-else"), "not an mqtui snapshot"),
        (lambda d: d.update(version="1"), "version must be a positive integer"),
        (lambda d: d["brokers"][0].update(name=5), "Expected `str`, got `int` - at `$.brokers[0].name`"),
        (lambda d: d["brokers"][0]["lag"][0].update(lag="many"), "at `$.brokers[0].lag[0].lag`"),
        (lambda d: d.update(surprise=True), "unknown field `surprise`"),
        (lambda d: d["brokers"][0].update(name="kafka\x1b]0;pwned\x07"), "a broker name must be a short name"),
        (lambda d: d["profile"].update(name="\x9b31m"), "the profile name must be a short name"),
        (lambda d: d["brokers"][1].update(name=d["brokers"][0]["name"]), "broker names must be unique"),
        (lambda d: d["tail"].update(broker="elsewhere"), "tail names a broker the snapshot does not hold"),
        (lambda d: d["tail"]["messages"][0].update(value="%%%"), "a message holds invalid base64"),
        (lambda d: d["brokers"][0].update(kind="mainframe"), "unknown broker kind 'mainframe'"),
        (lambda d: d.update(alerts={"open": [{"rule": 1}]}), "at `$.alerts.open[0]"),
    ],
)
def test_hostile_or_malformed(
    tmp_path: Path, good: dict[str, Any], capsys: pytest.CaptureFixture[str], change: Any, words: str
) -> None:
    change(good)
    code, line = opened(write(tmp_path, good), capsys)
    assert code == 2 and words in line, line


def test_huge_string_and_deep_nesting(tmp_path: Path, good: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    good["brokers"][0]["error"] = "x" * (MAX_STRING + 1)
    code, line = opened(write(tmp_path, good), capsys)
    assert code == 2 and "holds a string of 16,777,217 characters" in line
    deep: Any = "x"
    for _ in range(100):
        deep = [deep]
    good["brokers"][0]["error"] = deep
    code, line = opened(write(tmp_path, good), capsys)
    assert code == 2 and "nested deeper than 64 levels" in line


def test_missing_file_and_snapshot_with_a_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, line = opened(tmp_path / "nope.json", capsys)
    assert code == 2 and "cannot read it" in line
    code, line = opened(tmp_path, capsys, "--snapshot", str(tmp_path / "x.json"), "ls")
    assert code == 2 and "--snapshot opens the console on a snapshot file: it takes no command" in line


def test_names_with_markup_are_kept_and_shown_as_text(tmp_path: Path) -> None:
    """Brokers hand over such names (the look tests' hostile destination): they are data, read back
    exactly; the console's cells draw them as text (tests/console/test_offline.py shows them)."""
    incident = read_document(fixed_snapshot_file(tmp_path / "good.json"))
    names = [d.name for s in incident.snapshots for d in s.destinations]
    assert "[bold red]pwned[/] \x1b]0;title\x07 [@click=app.quit]" in names


def test_no_secret_reaches_the_file(tmp_path: Path) -> None:
    raw = {
        "profiles": {
            "prod": {
                "schema_registry": {"url": "https://reg:regpass-1@registry:8081", "password": "regpass-2"},
                "brokers": [
                    {"name": "k", "kind": "kafka", "url": "127.0.0.1:9092",
                     "sasl": {"username": "u", "password": "saslpass-3"}},
                    {"name": "r", "kind": "redis", "url": "redis://:urlpass-4@127.0.0.1:6379/0"},
                    {"name": "n", "kind": "nats", "url": "nats://127.0.0.1:4222", "token": "tokenpass-5"},
                    {"name": "q", "kind": "rabbitmq", "url": "amqp://guest:urlpass-6@127.0.0.1:5672/",
                     "password": "pass-7", "management_url": "http://guest:mgmtpass-8@127.0.0.1:15672"},
                ],
            }
        }
    }  # fmt: skip
    profile = parse_config(raw, Path("secret.toml")).profiles["prod"]
    text = write_document(build_document("prod", profile, [], NOW), tmp_path / "s.json").read_text()
    for secret in ("regpass-1", "regpass-2", "saslpass-3", "urlpass-4", "tokenpass-5", "urlpass-6", "pass-7",
                   "mgmtpass-8"):  # fmt: skip
        assert secret not in text
    assert "redis://:***@127.0.0.1:6379/0" in text and '"username": "u"' in text
    assert oct((tmp_path / "s.json").stat().st_mode & 0o777) == "0o600"  # it holds payloads
