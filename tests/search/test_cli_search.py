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
