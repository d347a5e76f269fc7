"""Bad command-line input is refused before anything runs: exit status 2, click's usage message with ONE
`Error:` line naming the option and what it expects, no traceback, and nothing written (no embedded
store is even opened, so the test's IMPRESSOX_DATA_DIR stays empty)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from impressox_pipelines.cli import app

RULE = ["rules", "add", "r1", "--owner", "1001"]
BACKTEST = ["rules", "backtest", "r1"]

# (arguments, the option the message names or None, what the message says is wrong or expected)
CASES = [
    ([*RULE, "--symbol", "BTC/", "--above", "100"], "--symbol",
     "not a pair: 'BTC/' (expected SYMBOL or SYMBOL/QUOTE, e.g. BTC/USD)"),
    ([*RULE, "--symbol", "???", "--above", "100"], "--symbol", "not a pair: '???'"),
    ([*RULE, "--symbol", "BTC", "--above", "0"], "--above", "threshold 0: a positive price expected for above"),
    ([*RULE, "--symbol", "BTC", "--above", "-5"], "--above", "threshold -5: a positive price expected"),
    ([*RULE, "--symbol", "BTC", "--below", "nan"], "--below", "threshold NaN: a positive price expected"),
    ([*RULE, "--symbol", "BTC", "--above", "inf"], "--above", "threshold Infinity: a positive price expected"),
    ([*RULE, "--symbol", "BTC", "--pct", "nan"], "--pct", "pct NaN: a positive percentage expected"),
    ([*RULE, "--symbol", "BTC", "--pct", "-2"], "--pct", "pct -2: a positive percentage expected"),
    ([*RULE, "--symbol", "BTC", "--pct", "5", "--direction", "sideways"], "--direction",
     "'sideways' is not one of 'up', 'down', 'either'"),
    ([*RULE, "--symbol", "BTC", "--above", "1", "--cooldown", "-5"], "--cooldown", "cooldown_s -5"),
    (["rules", "list", "--symbol", "BTC/"], "--symbol", "not a pair: 'BTC/'"),
    ([*BACKTEST, "--start", "2024-01-05", "--end", "2024-01-01"], "--end",
     "--end 2024-01-01 is before --start 2024-01-05"),
    ([*BACKTEST, "--start", "2024-13-05", "--end", "2024-01-01"], "--start",
     "'2024-13-05' is not a day (YYYY-MM-DD expected)"),
    ([*BACKTEST, "--start", "2024-01-01", "--end", "Jan 2"], "--end", "'Jan 2' is not a day (YYYY-MM-DD expected)"),
    ([*BACKTEST, "--start", "2024-01-01", "--end", "2024-01-02", "--interval", "7m"], "--interval",
     "'7m' is not one of 1m, 3m, 5m"),
    (["airdrops", "explain", "1", "--scam-flag-threshold", "nan"], "--scam-flag-threshold",
     "nan is not a finite positive number"),
    (["airdrops", "explain", "1", "--scam-flag-threshold", "-5"], "--scam-flag-threshold",
     "-5 is not a finite positive number"),
    (["airdrops", "explain", "1", "--scam-flag-threshold", "inf"], "--scam-flag-threshold",
     "inf is not a finite positive number"),
    (["airdrops", "explain", "1", "--scam-flag-threshold", "0"], "--scam-flag-threshold",
     "0 is not a finite positive number"),
    (["rag", "query", "what is ARB?", "--kind", "bogus"], "--kind", "'bogus' is not one of 'document', 'tweet'"),
    (["rules", "add", "r9", "--owner", "1", "--symbol", "BTC/BTC", "--above", "1"], "--symbol",
     "(an asset priced in itself)"),
    (["rules", "add", "r9", "--owner", "1", "--symbol", "BTC", "--above", "1", "--expires", "2020-01-01"],
     "--expires", "'2020-01-01' is in the past"),
    (["notify", "send", "123456789", "  "], "TEXT", "the message is empty"),
    (["rag", "reset", "", "--yes"], "COLLECTION", "collection name '' has no letter or digit"),
    (["rag", "reset", "../../etc", "--yes"], "COLLECTION",
     "'../../etc' is not a collection name (did you mean 'etc'?)"),
    (["notify", "redrive", "--limit", "-3"], "--limit", "greater than or equal to 1"),
    (["notify", "redrive", "--limit", "0"], "--limit", "greater than or equal to 1"),
    (["notify", "dead-letters", "--limit", "-1"], "--limit", "greater than or equal to 1"),
    (["users", "list", "--topic", "nope"], "--topic", "'nope' is not one of price_alerts, airdrops, digest"),
    (["users", "set", "42", "--subscribe", "bogus"], None,
     "unknown subscription 'bogus' (known: price_alerts, airdrops, digest)"),
    (["users", "set", "42", "--quiet", "22:00-07:00", "--quiet-mode", "loud"], None,
     "quiet_hours.mode must be one of silent, defer"),
    (["doctor", "--timeout", "nan"], "--timeout", "nan is not a finite positive number"),
    (["doctor", "--timeout", "-1"], "--timeout", "-1 is not a finite positive number"),
    (["dev", "--port", "0"], "--port", "greater than or equal to 1"),
    (["standins", "--env-file", "/nonexistent/impressox/env"], "--env-file",
     "folder '/nonexistent/impressox' does not exist"),
]


@pytest.mark.parametrize("args,option,expected", CASES, ids=[" ".join(c[0][:2] + c[0][-2:]) for c in CASES])
def test_bad_input_is_one_clear_line_and_writes_nothing(args, option, expected, data_dir):
    result = CliRunner().invoke(app, args)

    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit), "a usage error, not a crash"
    assert "Traceback" not in result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines[0].startswith(f"Usage: impressox {args[0]}")
    errors = [line for line in lines if line.startswith("Error:")]
    assert errors == [lines[-1]], "exactly one error line, last"
    named = f"Invalid value for '{option}': " if option else "Invalid value: "
    assert errors[0].startswith("Error: " + named) and expected in errors[0], errors[0]
    assert result.stdout == ""
    assert list(data_dir.iterdir()) == [], "no store was opened"


def test_a_refused_edit_leaves_the_stored_rule_as_it_was(data_dir):
    from impressox_pipelines.market.index import RuleIndex
    from impressox_pipelines.resources.redis import RedisResource

    runner = CliRunner()
    stored = runner.invoke(app, [*RULE, "--symbol", "BTC", "--above", "100000"])
    assert stored.exit_code == 0, stored.output

    for bad in (["--symbol", "BTC/", "--above", "1"], ["--symbol", "BTC", "--above", "nan"],
                ["--symbol", "ETH", "--pct", "5", "--direction", "sideways"]):
        refused = runner.invoke(app, [*RULE, *bad])
        assert refused.exit_code == 2, refused.output

    redis = RedisResource(data_dir=str(data_dir))
    redis.setup_for_execution(None)
    try:
        index = RuleIndex(redis.get_client())
        assert index.rule_ids() == ["r1"]
        rule, state, problem = index.get("r1")
        assert rule is not None, problem
        assert (str(rule.pair), str(rule.kind), str(rule.threshold)) == ("BTC/USD", "above", "100000")
        assert state.status == "armed"
    finally:
        redis.teardown_after_execution(None)
