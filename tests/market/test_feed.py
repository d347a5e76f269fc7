"""The price-feed client over real HTTP against the price stand-in: retries, 429s, bad bodies, API keys."""

from __future__ import annotations

import socket
from datetime import UTC, datetime, timedelta

import pytest

from impressox_pipelines.market.feed import (
    FeedMalformed,
    FeedSettings,
    PriceFeedClient,
    RateLimited,
    UpstreamError,
    parse_retry_after,
)
from impressox_pipelines.market.snapshot import take_snapshot
from impressox_pipelines.market.symbols import CoinGeckoIds, parse_pair
from tests.helpers.paths import require_fixture


def test_a_short_retry_after_is_waited_then_the_request_succeeds(prices):
    prices.fault("coingecko", "rate_limit", retry_after=1)
    with prices.client() as client:
        fetched = client.simple_price(["bitcoin"], ["usd"], max_wait_s=60)
    assert fetched.body["bitcoin"]["usd"] > 0
    assert fetched.latency_s >= 1.0
    assert len(prices.requests("coingecko")) == 2


def test_a_retry_after_longer_than_the_poll_interval_skips_the_cycle(replay):
    """The real CoinGecko 429 body (issue_snippets), with the `retry-after: 119` its log showed."""
    require_fixture("issue_snippets", "coingecko_429_rate_limit.json")
    replay.fault("coingecko", "rate_limit", retry_after=119)
    with replay.client() as client, pytest.raises(RateLimited) as caught:
        client.simple_price(["ethereum"], ["usd"], max_wait_s=60)
    assert caught.value.retry_after_s == 119
    assert caught.value.status == 429
    assert "exceeded the Rate Limit" in str(caught.value)
    assert len(replay.requests("coingecko")) == 1  # no retry: the wait is the next cycle's


def test_a_rate_limited_source_is_reported_and_never_becomes_a_price(replay):
    replay.fault("coingecko", "rate_limit", retry_after=119)
    pairs = [parse_pair("BTC/USD"), parse_pair("ETH/USD")]
    with replay.client() as client:
        snapshot = take_snapshot(client, pairs, CoinGeckoIds(), max_wait_s=60)
    # Binance's replayed stream prices BTC; ETH would have come from CoinGecko, which is rate limited.
    assert set(snapshot.quotes) == {"BTC/USD"}
    assert "rate limited" in snapshot.missing["ETH/USD"] and "119" in snapshot.missing["ETH/USD"]
    assert "rate limited" in snapshot.sources["coingecko"].skipped


def test_a_429_without_retry_after_backs_off_and_gives_up_as_rate_limited(prices):
    prices.fault("binance", "rate_limit", times=-1)
    with prices.client(max_attempts=3) as client, pytest.raises(RateLimited, match="after retries"):
        client.ticker_price()
    assert len(prices.requests("binance")) == 3


def test_server_errors_are_retried_with_backoff(prices):
    prices.fault("binance", "server_error", times=2, status=503)
    with prices.client(max_attempts=4) as client:
        body = client.ticker_price().body
    assert any(row["symbol"] == "BTCUSDT" for row in body)
    assert len(prices.requests("binance")) == 3


def test_a_server_error_storm_ends_in_an_upstream_error(prices):
    prices.fault("binance", "server_error", times=-1)
    with prices.client(max_attempts=3) as client, pytest.raises(UpstreamError) as caught:
        client.exchange_info()
    assert caught.value.status == 500 and "Internal error" in str(caught.value)
    assert len(prices.requests("binance")) == 3


def test_an_html_page_with_status_200_is_malformed_not_a_price(prices):
    prices.fault("coingecko", "html")
    with prices.client() as client, pytest.raises(FeedMalformed, match="HTML page"):
        client.simple_price(["bitcoin"], ["usd"])


def test_a_client_error_is_not_retried(prices):
    with prices.client() as client, pytest.raises(UpstreamError, match="Invalid symbol"):
        client.klines("NOPEUSDT", "1m", datetime.now(UTC) - timedelta(hours=1), datetime.now(UTC))
    assert len(prices.requests("binance")) == 1


def test_network_errors_are_retried_then_reported():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # nothing listens here once the socket is closed
    settings = FeedSettings(binance_url=f"http://127.0.0.1:{port}", max_attempts=2, backoff_initial_s=0.01,
                            backoff_max_s=0.02, connect_timeout_s=1)
    with PriceFeedClient(settings) as client, pytest.raises(UpstreamError, match="network error") as caught:
        client.ticker_price()
    assert caught.value.status is None


@pytest.mark.parametrize("plan, header", [("demo", "x-cg-demo-api-key"), ("pro", "x-cg-pro-api-key")])
def test_the_api_key_goes_in_the_plan_header_and_nowhere_else(prices, plan, header):
    with prices.client(coingecko_api_key="CG-secret-123", coingecko_api_plan=plan) as client:
        client.simple_price(["bitcoin"], ["usd"])
        client.ticker_price()
    [coingecko] = prices.requests("coingecko")
    [binance] = prices.requests("binance")
    assert coingecko["api_key_header"] == header
    assert binance["api_key_header"] is None  # never sent to another host
    assert "CG-secret-123" not in str(coingecko["query"])


def test_retry_after_as_an_http_date():
    now = datetime(2024, 1, 1, 12, 0, tzinfo=UTC)
    assert parse_retry_after("Mon, 01 Jan 2024 12:02:00 GMT", now) == 120
    assert parse_retry_after("7", now) == 7
    assert parse_retry_after("soon", now) is None


def test_klines_page_through_a_whole_day(prices):
    day = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=2)
    with prices.client() as client:
        rows, _ = client.klines("BTCUSDT", "1m", day, day + timedelta(days=1))
    assert len(rows) == 1440  # two pages of 1,000 and 440
    assert rows[0][0] == int(day.timestamp() * 1000)
    assert len(prices.requests("binance")) == 2
