"""`mqtui search` without a broker: an unreachable one is one line and exit 2; a bad expression or an
unknown saved filter is refused before any connection; `--help` shows the worked examples."""

from __future__ import annotations

from pathlib import Path

from tests.helpers import run_mqtui, write_config


def test_unreachable_bad_expression_and_help(tmp_path: Path) -> None:
    config = write_config(tmp_path / "c.toml", {"p": {
        "brokers": [{"name": "r", "kind": "redis", "url": "redis://127.0.0.1:1/0", "timeout": 1.0}],
        "filters": {"big": ".value.amount > 1000"},
    }})  # fmt: skip
    base = ("--config", str(config), "-p", "p", "search", "r", "orders")
    unreachable = run_mqtui(*base, "--where", "@big", timeout=30)
    assert unreachable.code == 2
    assert unreachable.err.startswith("mqtui: error: cannot search orders: r: cannot reach redis://127.0.0.1:1/0")
    assert unreachable.err.count("\n") == 1
    bad = run_mqtui(*base, "--where", '.value | test("a"', timeout=30)
    assert (bad.code, bad.err) == (2, "mqtui: error: bad expression '.value | test(\"a\"': syntax error, "
                                      "unexpected end of file, expecting ';' or ')' at column 17\n")  # fmt: skip
    unknown = run_mqtui(*base, "--where", "@huge", timeout=30)
    assert (unknown.code, unknown.err) == (2, "mqtui: error: no saved filter @huge (saved filters: @big)\n")
    shown = run_mqtui("search", "--help", timeout=30)
    assert shown.code == 0 and shown.out.count("\n  mqtui search ") == 4 and "--where @big" in shown.out


def test_a_range_given_backwards_is_refused_before_connecting(tmp_path: Path) -> None:
    """--from and --to swapped would search an empty range and answer "0 matched": one line, exit 2, and
    the unreachable broker is never tried. An equal offset (--to is inclusive) is a range of one."""
    config = write_config(tmp_path / "c.toml", {"p": {
        "brokers": [{"name": "r", "kind": "redis", "url": "redis://127.0.0.1:1/0", "timeout": 1.0}],
    }})  # fmt: skip
    base = ("--config", str(config), "-p", "p", "search", "r", "orders", "--where", "x")
    for start, end in [("100", "50"), ("2026-12-06T10:15", "2026-12-06T10:00"), ("2026-12-06T10:00Z", "2026-12-06T10:00"),
                       ("1796591880733-5", "1796591880733-1")]:  # fmt: skip
        backwards = run_mqtui(*base, "--from", start, "--to", end, timeout=30)
        assert backwards.code == 2 and backwards.err.count("\n") == 1, backwards.err
        assert backwards.err.startswith("mqtui: error: the range ends before it starts (from ")
        assert backwards.err.endswith("): nothing would be searched\n")
    one = run_mqtui(*base, "--from", "7", "--to", "7", timeout=30)
    assert one.code == 2 and "cannot reach" in one.err  # not refused: it went on to the broker
