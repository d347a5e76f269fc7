"""The demo rule set: a few rules placed just around the current prices, so the demo's ticks against
the price stand-in cross them and alerts fire."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from impressox_pipelines.market.cache import LatestPrice
from impressox_pipelines.market.rules import Direction, Kind, Rule
from impressox_pipelines.market.symbols import parse_pair

DEMO_CHAT_ID = "424242"
DEMO_PAIRS = ("BTC/USD", "ETH/BTC", "XRP/USD")


def demo_rule_set(latest: Mapping[str, LatestPrice], owner_chat_id: str = DEMO_CHAT_ID) -> list[Rule]:
    """Per demo pair with a price: above +0.05%, below −0.05% (recurring, 0.02% hysteresis) and a
    recurring 0.1%-in-15-minutes move either way. Ids are `demo-<base>-<quote>-<kind>`."""
    rules = []
    for name in DEMO_PAIRS:
        quote = latest.get(name)
        if quote is None:
            continue
        pair = parse_pair(name)
        stem = f"demo-{pair.base}-{pair.quote}".lower()
        price = quote.price
        common = {"owner_chat_id": owner_chat_id, "pair": pair, "recurring": True,
                  "hysteresis_pct": Decimal("0.02")}
        rules += [
            Rule(id=f"{stem}-above", kind=Kind.ABOVE, threshold=_round(price * Decimal("1.0005")),
                 label=f"{name} up 0.05%", **common),
            Rule(id=f"{stem}-below", kind=Kind.BELOW, threshold=_round(price * Decimal("0.9995")),
                 label=f"{name} down 0.05%", **common),
            Rule(id=f"{stem}-move", kind=Kind.PCT_CHANGE, pct=Decimal("0.1"), direction=Direction.EITHER,
                 window_s=900, label=f"{name} moves 0.1% in 15 min", **common),
        ]
    return rules


def _round(value: Decimal) -> Decimal:
    return value.quantize(Decimal(1).scaleb(value.adjusted() - 7))
