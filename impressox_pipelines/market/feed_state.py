"""What the callers of the price feed share through Redis, so that every `price_snapshots` run (a process
of its own) and the rule sensor behave as one polite client of each source.

- `impressox:prices:rest:<source>` — string, written when `<source>` (`binance`, `coingecko`) answered 429
  (or Binance's 418 ban) and expiring when its `Retry-After` has passed; while it exists nobody asks that
  source. Value: JSON `{"retry_after_s": <seconds as asked, or null>, "rest_s": <seconds rested>,
  "since_ms": <epoch ms>, "until_ms": <epoch ms>}`. The rest is the `Retry-After` (RFC 9110 §10.2.3:
  delta-seconds or an HTTP date, read by `feed.parse_retry_after`) capped at `MAX_REST_S` (1 h: a longer
  one, or a date years ahead, is taken for a broken header), or `DEFAULT_REST_S` (60 s) when the header
  is absent or unreadable: a 429 always means "back off" (Binance bans IPs that keep asking). A rest only
  grows: a shorter one recorded meanwhile by another process leaves the longer one in place. A rest is in
  force while the key exists and `until_ms` is still ahead of the reader's clock: the key's expiry keeps
  Redis clean, the recorded end decides (so a caller's clock, injected as `now`, moves it).
- `impressox:prices:binance_exchange_info` — string expiring after `EXCHANGE_INFO_TTL_S` (1 h): the
  markets of Binance's `/api/v3/exchangeInfo` (megabytes upstream) reduced to the fields
  `BinanceMarkets` reads, JSON `{"url": <Binance base URL>, "fetched_ms": <epoch ms>, "symbols":
  [{"symbol", "status", "baseAsset", "quoteAsset"}, …]}`. A value that is unreadable, lists no trading
  market, or was cached for another base URL is fetched again and replaced; one whose `fetched_ms` is
  `EXCHANGE_INFO_TTL_S` or more behind the reader's clock counts as expired, like a key Redis dropped.

Every function reading the time takes `now`: a callable returning epoch seconds, `time.time` by default.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from impressox_pipelines.market.feed import PriceFeedClient
from impressox_pipelines.market.prices import from_epoch_ms
from impressox_pipelines.market.snapshot import SOURCES, Snapshot, SourceReport, take_snapshot
from impressox_pipelines.market.symbols import BinanceMarkets, CoinGeckoIds, Pair
from impressox_pipelines.stores import EXCHANGE_INFO_KEY, PRICE_REST_PREFIX

MAX_REST_S = 3600.0
DEFAULT_REST_S = 60.0
EXCHANGE_INFO_TTL_S = 3600
_MARKET_FIELDS = ("symbol", "status", "baseAsset", "quoteAsset")

# Set the rest unless one recorded before ends later (ARGV[3]: the new rest's until_ms). A value that is
# not ours (unreadable, no until_ms) is replaced.
_GROW_REST = """
local current = redis.call('GET', KEYS[1])
if current then
  local ok, data = pcall(cjson.decode, current)
  local until_ms = ok and type(data) == 'table' and tonumber(data['until_ms'])
  if until_ms and until_ms >= tonumber(ARGV[3]) then return 0 end
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
"""


def rest_seconds(retry_after_s: float | None) -> float:
    """How long to leave a source alone after a 429 whose `Retry-After` read as `retry_after_s` seconds
    (None: absent or unreadable → `DEFAULT_REST_S`); never more than `MAX_REST_S`, never negative."""
    if retry_after_s is None:
        return DEFAULT_REST_S
    return min(max(retry_after_s, 0.0), MAX_REST_S)


@dataclass(frozen=True)
class Rest:
    """A source left alone until `until` (UTC); `retry_after_s` is what it asked (None: no usable header)."""

    source: str
    until: datetime
    retry_after_s: float | None

    @property
    def reason(self) -> str:
        asked = (f"Retry-After {self.retry_after_s:g} s" if self.retry_after_s is not None
                 else "429 without a usable Retry-After")
        return f"{self.source}: resting until {self.until:%Y-%m-%d %H:%M:%S} UTC ({asked})"

    def as_metadata(self) -> dict[str, Any]:
        return {"until": self.until.isoformat(), "retry_after_s": self.retry_after_s}


def record_rest(client: Any, source: str, retry_after_s: float | None,
                now: Callable[[], float] = time.time) -> Rest | None:
    """Leave `source` alone for `rest_seconds(retry_after_s)` from `now()` (epoch seconds), for every
    process sharing this Redis; returns the rest now in force (one recorded before that ends later is
    kept), or None for a zero rest."""
    rest_ms = int(rest_seconds(retry_after_s) * 1000)
    if rest_ms <= 0:
        return None
    since_ms = int(now() * 1000)
    until_ms = since_ms + rest_ms
    value = json.dumps({"retry_after_s": retry_after_s, "rest_s": rest_ms / 1000, "since_ms": since_ms,
                        "until_ms": until_ms})
    client.eval(_GROW_REST, 1, PRICE_REST_PREFIX + source, value, rest_ms, until_ms)
    return read_rests(client, [source], now).get(source)


def read_rests(client: Any, sources: Iterable[str] = SOURCES,
               now: Callable[[], float] = time.time) -> dict[str, Rest]:
    """The sources resting at `now()` (epoch seconds), by name. A source rests while its key exists (its
    expiry in Redis ends the rest, whichever process wrote it) and the end the writer recorded is after
    `now()`; when the value is unreadable the end is the key's expiry (then `retry_after_s` is None). A
    key without an expiry (not written by `record_rest`) is ignored rather than silencing a source for
    ever."""
    names = list(sources)
    pipe = client.pipeline(transaction=False)
    for name in names:
        pipe.get(PRICE_REST_PREFIX + name)
        pipe.pttl(PRICE_REST_PREFIX + name)
    answers = pipe.execute()
    now_ms = int(now() * 1000)
    rests = {}
    for index, name in enumerate(names):
        value, ttl_ms = answers[2 * index], answers[2 * index + 1]
        if value is None or ttl_ms is None or ttl_ms < 0:
            continue
        try:
            data = json.loads(value)
            asked = float(data["retry_after_s"]) if data["retry_after_s"] is not None else None
            until_ms = int(data["until_ms"])
        except (ValueError, TypeError, KeyError):
            asked, until_ms = None, now_ms + ttl_ms
        if until_ms > now_ms:
            rests[name] = Rest(name, from_epoch_ms(until_ms), asked)
    return rests


class ExchangeInfoCache:
    """Binance's markets through Redis: `markets(feed, max_wait_s)` reads the cached exchange info, or
    fetches `/api/v3/exchangeInfo` and caches it for `ttl_s` seconds of `now` (a callable returning
    epoch seconds). After a call, `origin` is `"redis"` or `"binance"` and `note` says why a cached
    value was not used (None when none was, or when it had expired)."""

    def __init__(self, client: Any, ttl_s: int = EXCHANGE_INFO_TTL_S, now: Callable[[], float] = time.time):
        self.client = client
        self.ttl_s = ttl_s
        self.now = now
        self.origin: str | None = None
        self.note: str | None = None

    def markets(self, feed: PriceFeedClient, max_wait_s: float = 60.0) -> BinanceMarkets:
        """Raises:
            PriceFeedError, MalformedResponse: from the fetch, as `PriceFeedClient.exchange_info` and
                `BinanceMarkets` raise them (nothing is cached then).
        """
        url = feed.settings.binance_url
        cached = self.client.get(EXCHANGE_INFO_KEY)
        if cached is not None:
            try:
                markets, fetched_ms = _decode(cached, url)
            except ValueError as exc:
                self.note = f"cached exchange info not used ({exc}): fetched again"
            else:
                if fetched_ms > self.now() * 1000 - self.ttl_s * 1000:
                    self.origin = "redis"
                    return markets
        body = feed.exchange_info(max_wait_s=max_wait_s).body
        markets = BinanceMarkets(body)
        if markets.symbols:  # an empty answer (maintenance) is not worth an hour of Binance-less snapshots
            reduced = [{k: e.get(k) for k in _MARKET_FIELDS} for e in body["symbols"] if isinstance(e, dict)]
            value = {"url": url, "fetched_ms": int(self.now() * 1000), "symbols": reduced}
            self.client.set(EXCHANGE_INFO_KEY, json.dumps(value), ex=self.ttl_s)
        self.origin = "binance"
        return markets


def _decode(cached: str, url: str) -> tuple[BinanceMarkets, int]:
    """Markets from a cached value, and when they were fetched (epoch ms). Raises ValueError saying why
    the value cannot be used."""
    try:
        data = json.loads(cached)
    except ValueError:
        raise ValueError("not JSON") from None
    if not isinstance(data, dict) or not isinstance(data.get("symbols"), list):
        raise ValueError("not an object with a 'symbols' list")
    if data.get("url") != url:
        raise ValueError("cached for another Binance base URL")
    markets = BinanceMarkets({"symbols": data["symbols"]})
    if not markets.symbols:
        raise ValueError("no trading market in it")
    fetched_ms = data.get("fetched_ms")
    if not isinstance(fetched_ms, int) or isinstance(fetched_ms, bool):
        raise ValueError("no fetch time in it")
    return markets, fetched_ms


@dataclass
class PoliteSnapshot:
    """A snapshot taken without asking a resting source.

    `resting`: the sources left alone (resting when it began); `rested`: the rests this snapshot
    recorded (a source rate-limited it); `exchange_info`: where Binance's markets came from (`"redis"`,
    `"binance"`, or None when Binance was not asked or the fetch failed) and `exchange_info_note` why a
    cached value was not used.
    """

    snapshot: Snapshot
    resting: dict[str, Rest]
    rested: dict[str, Rest]
    exchange_info: str | None
    exchange_info_note: str | None


def take_polite_snapshot(
    client: Any,
    feed: PriceFeedClient,
    pairs: Iterable[Pair],
    ids: CoinGeckoIds,
    *,
    sources: Sequence[str] = SOURCES,
    max_wait_s: float = 60.0,
    now: Callable[[], float] = time.time,
) -> PoliteSnapshot:
    """`take_snapshot` over the sources not resting (the next one in `sources` prices what a resting one
    would have), with Binance's markets from `ExchangeInfoCache`; a source that rate-limits it is put
    to rest. A resting source appears in `snapshot.sources` with `skipped` naming its rest, and in the
    reason of every pair no source priced. `now` (epoch seconds) is the clock of the rests and the cache."""
    resting = read_rests(client, sources, now)
    cache = ExchangeInfoCache(client, now=now)
    snapshot = take_snapshot(feed, pairs, ids, sources=[s for s in sources if s not in resting],
                             max_wait_s=max_wait_s, binance_markets=lambda: cache.markets(feed, max_wait_s))
    rested = {}
    for source, report in snapshot.sources.items():
        rest = record_rest(client, source, report.retry_after_s, now) if report.rate_limited else None
        if rest is not None:
            rested[source] = rest
    if resting:
        reports = {**snapshot.sources, **{s: SourceReport(skipped=r.reason) for s, r in resting.items()}}
        snapshot.sources = {s: reports[s] for s in sources if s in reports}
        why = "; ".join(r.reason for r in resting.values())
        snapshot.missing = {name: why if reason == "no source asked" else f"{why}; {reason}"
                            for name, reason in snapshot.missing.items()}
    return PoliteSnapshot(snapshot, resting, rested, cache.origin, cache.note)
