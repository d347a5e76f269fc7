"""Pairs, CoinGecko ids and Binance symbols.

A pair is `SYMBOL/QUOTE` in upper case (`BTC/USD`, `ETH/BTC`, `1INCH/USD`): the asset a rule watches and
the currency its price is quoted in. CoinGecko names coins by id (`ethereum`) and quotes them in a
`vs_currency` (`usd`); one ticker can belong to many ids (`ETH` is `ethereum`, but also bridged and
wrapped tokens), so resolution uses an explicit mapping and refuses to guess. Binance names markets by
symbol (`ETHUSDT`, `1INCHUSDT`): they are looked up in `/api/v3/exchangeInfo` by base and quote asset;
`USD` is served by the `USDT` market.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from impressox_pipelines.market.prices import MalformedResponse

_ASSET = re.compile(r"^[A-Z0-9]{1,20}$")

# Explicit ticker → CoinGecko id mapping for the coins people set alerts on most. Anything else is
# resolved through `/coins/list` only when exactly one id carries the ticker.
DEFAULT_COINGECKO_IDS: dict[str, str] = {
    "BTC": "bitcoin",
    "ETH": "ethereum",
    "SOL": "solana",
    "BNB": "binancecoin",
    "XRP": "ripple",
    "ADA": "cardano",
    "DOGE": "dogecoin",
    "LTC": "litecoin",
    "DOT": "polkadot",
    "AVAX": "avalanche-2",
    "LINK": "chainlink",
    "TRX": "tron",
    "TON": "the-open-network",
    "SHIB": "shiba-inu",
    "PEPE": "pepe",
    "1INCH": "1inch",
    "USDT": "tether",
    "USDC": "usd-coin",
}

# A quote currency Binance serves through another asset's markets.
BINANCE_QUOTE_ALIASES: dict[str, str] = {"USD": "USDT"}


class SymbolError(ValueError):
    """A symbol or pair that cannot be priced."""


class UnknownSymbolError(SymbolError):
    """No CoinGecko id / Binance market carries this symbol."""


class AmbiguousSymbolError(SymbolError):
    """A ticker carried by several CoinGecko ids and not in the explicit mapping."""

    def __init__(self, symbol: str, candidates: list[str]):
        self.symbol = symbol
        self.candidates = candidates
        shown = ", ".join(candidates[:8]) + (" …" if len(candidates) > 8 else "")
        super().__init__(
            f"symbol {symbol} is ambiguous on CoinGecko: {len(candidates)} ids carry it ({shown}); "
            f"add an explicit mapping (coingecko_ids: {{{symbol!r}: '<id>'}})"
        )


@dataclass(frozen=True, order=True)
class Pair:
    """`base/quote`, both upper-case asset tickers."""

    base: str
    quote: str

    def __str__(self) -> str:
        return f"{self.base}/{self.quote}"

    @property
    def vs_currency(self) -> str:
        """CoinGecko's name for the quote currency (`usd`, `btc`)."""
        return self.quote.lower()


@lru_cache(maxsize=4096)  # pure, and called for every rule a tick loads
def parse_pair(text: str, default_quote: str = "USD") -> Pair:
    """`"btc"` → BTC/USD, `"eth/btc"` → ETH/BTC, `"1INCH-usd"` → 1INCH/USD.

    Raises:
        SymbolError: when either side is not 1–20 letters or digits, or both sides are the same asset.
    """
    raw = (text or "").strip().upper().replace("-", "/")
    base, slash, quote = raw.partition("/")
    quote = quote if slash else default_quote.upper()
    if not _ASSET.match(base) or not _ASSET.match(quote):
        raise SymbolError(f"not a pair: {text!r} (expected SYMBOL or SYMBOL/QUOTE, e.g. BTC/USD)")
    if base == quote:
        raise SymbolError(f"not a pair: {text!r} (an asset priced in itself)")
    return Pair(base, quote)


class CoinGeckoIds:
    """Resolves tickers to CoinGecko ids: the explicit mapping first, then `/coins/list` when exactly one
    id carries the ticker.

    `mapping` overrides `DEFAULT_COINGECKO_IDS` (keys are tickers, case-insensitive).
    """

    def __init__(self, mapping: Mapping[str, str] | None = None, coins_list: Iterable[Any] | None = None):
        self.mapping = {**DEFAULT_COINGECKO_IDS, **{k.upper(): v for k, v in (mapping or {}).items()}}
        self._by_symbol: dict[str, list[str]] | None = None
        if coins_list is not None:
            self.load_coins_list(coins_list)

    @property
    def has_coins_list(self) -> bool:
        return self._by_symbol is not None

    def load_coins_list(self, coins_list: Iterable[Any]) -> None:
        """Index a decoded `/coins/list` body (`[{"id", "symbol", "name"}, …]`)."""
        by_symbol: dict[str, list[str]] = {}
        for coin in coins_list:
            if isinstance(coin, dict) and isinstance(coin.get("id"), str) and isinstance(coin.get("symbol"), str):
                by_symbol.setdefault(coin["symbol"].upper(), []).append(coin["id"])
        self._by_symbol = by_symbol

    def needs_coins_list(self, symbols: Iterable[str]) -> bool:
        return any(s.upper() not in self.mapping for s in symbols)

    def resolve(self, symbol: str) -> str:
        """The CoinGecko id of a ticker.

        Raises:
            AmbiguousSymbolError: when unmapped and several ids carry it (the message lists them).
            UnknownSymbolError: when unmapped and no id carries it (or no coin list was loaded).
        """
        key = symbol.upper()
        if key in self.mapping:
            return self.mapping[key]
        candidates = sorted((self._by_symbol or {}).get(key, []))
        if len(candidates) == 1:
            return candidates[0]
        if len(candidates) > 1:
            raise AmbiguousSymbolError(key, candidates)
        known = "not in the explicit mapping" if self._by_symbol is None else "no CoinGecko id carries it"
        raise UnknownSymbolError(f"unknown symbol {key}: {known}")


class BinanceMarkets:
    """Binance spot markets from a decoded `/api/v3/exchangeInfo` body (only `status == TRADING`)."""

    def __init__(self, exchange_info: Any):
        if not isinstance(exchange_info, dict) or not isinstance(exchange_info.get("symbols"), list):
            raise MalformedResponse("/exchangeInfo: expected an object with a 'symbols' list")
        self.by_assets: dict[tuple[str, str], str] = {}
        self.symbols: set[str] = set()
        for entry in exchange_info["symbols"]:
            if not isinstance(entry, dict) or entry.get("status") != "TRADING":
                continue
            symbol, base, quote = entry.get("symbol"), entry.get("baseAsset"), entry.get("quoteAsset")
            if isinstance(symbol, str) and isinstance(base, str) and isinstance(quote, str):
                self.by_assets[(base.upper(), quote.upper())] = symbol
                self.symbols.add(symbol)

    def symbol_for(self, pair: Pair) -> str:
        """The Binance symbol trading `pair` (`BTC/USD` → `BTCUSDT`, `1INCH/USD` → `1INCHUSDT`).

        Raises:
            UnknownSymbolError: when no trading market has that base and quote.
        """
        quote = BINANCE_QUOTE_ALIASES.get(pair.quote, pair.quote)
        symbol = self.by_assets.get((pair.base, quote)) or self.by_assets.get((pair.base, pair.quote))
        if symbol is None:
            raise UnknownSymbolError(f"binance lists no trading market for {pair} ({pair.base}{quote})")
        return symbol

    def normalise(self, text: str) -> str:
        """A Binance symbol from `1inch/usdt`, `1INCH-USDT`, `1inchusdt` or `1INCH/USD`.

        Raises:
            UnknownSymbolError: when it names no trading market.
        """
        compact = re.sub(r"[^A-Z0-9]", "", text.upper())
        if compact in self.symbols:
            return compact
        return self.symbol_for(parse_pair(text))
