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
    # Decimal parses these, but no rule can hold them: as floats (the index's scores) they are inf and 0.
    ([*RULE, "--symbol", "BTC", "--above", "1e999999999"], "--above",
     "threshold 1E+999999999: a positive price expected for above (too large: it overflows to infinity)"),
    ([*RULE, "--symbol", "BTC", "--below", "-1e999999999"], "--below",
     "threshold -1E+999999999: a positive price expected for below"),
    ([*RULE, "--symbol", "BTC", "--below", "1e-999999999"], "--below",
     "threshold 1E-999999999: a positive price expected for below (too small: it rounds to 0)"),
    ([*RULE, "--symbol", "BTC", "--pct", "1e999999999"], "--pct",
     "pct 1E+999999999: a positive percentage expected (too large"),
    ([*RULE, "--symbol", "BTC", "--pct", "5", "--recurring", "--hysteresis", "1e-999999999"], "--hysteresis",
     "hysteresis_pct 1E-999999999: between 0 and 50 expected (too small: it rounds to 0)"),
    ([*RULE, "--symbol", "BTC", "--pct", "5", "--recurring", "--cooldown", "99999999999999999999"], "--cooldown",
     "cooldown_s 99999999999999999999: between 0 and 31536000 seconds expected"),
    # An option the rule kind (or a one-shot rule) ignores is refused, naming both options.
    ([*RULE, "--symbol", "BTC", "--above", "100", "--window", "600"], "--window",
     "--window is for --pct rules only; --above fires when the price crosses the threshold"),
    ([*RULE, "--symbol", "BTC", "--below", "100", "--direction", "up"], "--direction",
     "--direction is for --pct rules only; --below fires"),
    ([*RULE, "--symbol", "BTC", "--above", "100", "--cooldown", "60"], "--cooldown",
     "--cooldown is for --recurring rules only; a one-shot rule is disabled when it fires"),
    ([*RULE, "--symbol", "BTC", "--pct", "5", "--hysteresis", "1"], "--hysteresis",
     "--hysteresis is for --recurring rules only"),
    ([*RULE, "--symbol", "BTC", "--pct", "5", "--direction", "sideways"], "--direction",
     "'sideways' is not one of 'up', 'down', 'either'"),
    ([*RULE, "--symbol", "BTC", "--above", "1", "--recurring", "--cooldown", "-5"], "--cooldown", "cooldown_s -5"),
    (["rules", "list", "--symbol", "BTC/"], "--symbol", "not a pair: 'BTC/'"),
    ([*BACKTEST, "--start", "2024-01-05", "--end", "2024-01-01"], "--end",
     "--end 2024-01-01 is before --start 2024-01-05"),
    ([*BACKTEST, "--start", "2024-13-05", "--end", "2024-01-01"], "--start",
     "'2024-13-05' is not a day (YYYY-MM-DD expected)"),
    ([*BACKTEST, "--start", "2024-01-01", "--end", "Jan 2"], "--end", "'Jan 2' is not a day (YYYY-MM-DD expected)"),
    # Other spellings of a day (strptime's unpadded one, fromisoformat's basic and week dates) are refused:
    # a day is written one way everywhere, as partition keys are.
    ([*BACKTEST, "--start", "2026-1-5", "--end", "2026-01-06"], "--start",
     "'2026-1-5' is not a day (YYYY-MM-DD expected)"),
    ([*BACKTEST, "--start", "2026-01-05", "--end", "20260106"], "--end", "'20260106' is not a day (YYYY-MM-DD"),
    ([*BACKTEST, "--start", "2026-W01-1", "--end", "2026-01-06"], "--start", "'2026-W01-1' is not a day"),
    ([*BACKTEST, "--start", "２０２６-01-05", "--end", "2026-01-06"], "--start", "is not a day (YYYY-MM-DD"),
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
    (["airdrops", "explain", "1", "--scam-flag-threshold", "1e999999999"], "--scam-flag-threshold",
     "1e999999999 is not a finite positive number (too large: it overflows to infinity)"),
    (["airdrops", "explain", "1", "--scam-flag-threshold", "1e-999999999"], "--scam-flag-threshold",
     "1e-999999999 is not a finite positive number (too small: it rounds to 0)"),
    (["airdrops", "explain", "1", "--scam-flag-threshold", "lots"], "--scam-flag-threshold", "'lots' is not a number"),
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
    (["users", "set", "42", "--quiet", "22:00-07:00", "--quiet-mode", "loud"], "--quiet-mode",
     "quiet_hours.mode must be one of silent, defer"),
    (["users", "set", "42", "--quiet", "25:00-07:00"], "--quiet", "time '25:00' is not HH:MM"),
    (["users", "set", "42", "--watch", "BTC/,???"], "--watch",
     "watch_symbols: not a pair: 'BTC/' (expected SYMBOL or SYMBOL/QUOTE, e.g. BTC/USD)"),
    (["users", "set", "42", "--watch", "ETH, ???"], "--watch", "watch_symbols: not a pair: '???'"),
    (["users", "set", "42", "--timezone", "Mars/Base"], "--timezone", "'Mars/Base' is not an IANA time zone"),
    (["doctor", "--timeout", "nan"], "--timeout", "nan is not a finite positive number"),
    (["doctor", "--timeout", "-1"], "--timeout", "-1 is not a finite positive number"),
    (["doctor", "--timeout", "1e-999999999"], "--timeout", "1e-999999999 is not a finite positive number (too small"),
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


def test_the_options_a_rule_takes_are_stored_and_the_others_default(data_dir):
    from impressox_pipelines.market.index import RuleIndex
    from impressox_pipelines.resources.redis import RedisResource

    runner = CliRunner()
    for args in ([*RULE, "--symbol", "ETH", "--pct", "5", "--direction", "up", "--window", "600", "--recurring",
                  "--cooldown", "1800", "--hysteresis", "2"],
                 ["rules", "add", "r2", "--owner", "1001", "--symbol", "BTC", "--above", "1e300"]):
        stored = runner.invoke(app, args)
        assert stored.exit_code == 0, stored.output

    redis = RedisResource(data_dir=str(data_dir))
    redis.setup_for_execution(None)
    try:
        index = RuleIndex(redis.get_client())
        pct, _, _ = index.get("r1")
        above, _, _ = index.get("r2")
    finally:
        redis.teardown_after_execution(None)
    assert (str(pct.direction), pct.window_s, pct.cooldown_s, str(pct.hysteresis_pct)) == ("up", 600, 1800, "2")
    assert (above.direction, above.window_s, above.cooldown_s, str(above.hysteresis_pct)) == (None, None, 0, "0.5")
    assert str(above.threshold) == "1E+300"


def test_watched_symbols_are_stored_canonical_and_an_empty_value_clears_them(data_dir):
    import json

    runner = CliRunner()
    watching = runner.invoke(app, ["users", "set", "42", "--watch", " btc , ,eth/btc,BTC-USD"])
    assert watching.exit_code == 0, watching.output
    assert json.loads(watching.stdout)["watch_symbols"] == ["BTC", "ETH/BTC"]

    cleared = runner.invoke(app, ["users", "set", "42", "--watch", ""])
    assert cleared.exit_code == 0, cleared.output
    assert json.loads(cleared.stdout)["watch_symbols"] == []


@pytest.mark.parametrize("args, store", [
    (["rules", "remove", "nope"], "not found in Redis"),
    ([*BACKTEST[:2], "nope", "--start", "2025-01-01", "--end", "2025-01-01"], "not found in Redis"),
    (["users", "show", "999"], "not found in MongoDB `user_preferences`"),
    (["airdrops", "explain", "999"], "not found in MongoDB `airdrop_opportunities` nor `tweets`"),
    (["x", "targets", "remove", "@nobody"], "not found among the active targets in MongoDB `x_targets`"),
])
def test_an_unknown_id_is_not_found_in_a_named_store(data_dir, args, store):
    """Stores that exist but are empty: every lookup names the store it searched, with exit status 1."""
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1 and store in result.output, result.output
