"""Telegram HTML messages: escaping, the templates, and splitting at Telegram's length limit.

Follows the Bot API's HTML style (https://core.telegram.org/bots/api#html-style): only the tags
`b i u s a code pre blockquote` are produced, every interpolated value goes through `html.escape`
(Telegram accepts `&lt; &gt; &amp; &quot;` and numeric entities, which is exactly what it emits), and
links are only made for `http(s)://` URLs.

Lengths are counted in UTF-16 code units, the unit of Telegram's `sendMessage` limit (4,096 after entity
parsing). We measure the raw HTML, tags and entities included, which is never less than the parsed
length, so a part that fits here always fits there.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import regex

TELEGRAM_MESSAGE_LIMIT = 4096

# A tag, an entity, or one grapheme cluster (so a flag or a ZWJ family emoji is never cut in two; a
# surrogate pair cannot be, since Python strings hold code points).
_UNIT = regex.compile(r"<[^<>]*>|&(?:#\d+|#x[0-9a-fA-F]+|[a-zA-Z]+);|\X")
_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)[^>]*>")

_BARE_HOST = re.compile(r"[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}(/|$)")

# Break priorities: paragraph, line, word; 0 is "between any two units".
_PARAGRAPH, _LINE, _WORD, _ANY = 3, 2, 1, 0


class UnsplittableMessage(ValueError):
    """A single tag or entity is longer than the limit, so no valid split exists."""


def utf16_len(text: str) -> int:
    """Length of `text` in UTF-16 code units (a character outside the BMP counts 2)."""
    return len(text.encode("utf-16-le")) // 2


def escape(value: Any) -> str:
    """`value` as text safe inside Telegram HTML (`<`, `>`, `&`, `"` and `'` escaped); None becomes ""."""
    return "" if value is None else html.escape(str(value), quote=True)


def link(url: Any, label: Any | None = None) -> str:
    """An `<a href>` for an http(s) URL, or the escaped text when the URL is anything else.

    A scheme-less `host/path` (the airdrop detector's canonical link keys) is linked as https. Refusing
    other schemes keeps `javascript:`-style or malformed hrefs (which Telegram rejects with "can't parse
    entities") out of messages.
    """
    text = escape(label if label not in (None, "") else url)
    if isinstance(url, str) and _BARE_HOST.match(url):
        url = f"https://{url}"
    if isinstance(url, str) and re.fullmatch(r"https?://[^\s<>\"]+", url):
        return f'<a href="{escape(url)}">{text}</a>'
    return text


# ---------------------------------------------------------------------------------------------- templates


def _first(payload: Mapping[str, Any], *names: str) -> Any:
    for name in names:
        value = payload.get(name)
        if value not in (None, ""):
            return value
    return None


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return list(value)
    return [value]


_CROSSING = {"above": "crossed above", "price_above": "crossed above", "below": "crossed below",
             "price_below": "crossed below"}
_MOVE = {"up": "rose", "down": "fell", "either": "moved"}


def render_price_alert(payload: Mapping[str, Any]) -> str:
    """A price alert.

    Payload (written by the market monitor, `impressox_pipelines.market.alerts.alert_payload`; every
    field optional, empty strings count as absent, unknown fields are ignored): `symbol` or `pair`,
    `kind` ("above" | "below" | "pct_change"; any other value is shown verbatim), `direction`
    ("up" | "down" | "either", for pct_change), `threshold`, `pct`, `window_s`, `price`,
    `previous_price`, `change_pct`, `vs_currency`, `label`, `rule_id`, `observed_at`, `source`.
    Numbers may be decimal strings and are shown exactly as given.
    """
    symbol = escape(_first(payload, "symbol", "pair", "coin") or "?")
    kind = str(_first(payload, "kind", "rule_kind") or "").lower()
    currency = escape(_first(payload, "vs_currency", "currency") or "")
    unit = f" {currency.upper()}" if currency else ""
    threshold = _first(payload, "threshold", "target")
    if kind in _CROSSING:
        headline = f"🔔 <b>{symbol}</b> {_CROSSING[kind]}"
        if threshold is not None:
            headline += f" <b>{escape(threshold)}{unit}</b>"
    elif kind in ("pct_change", "percent_change"):
        verb = _MOVE.get(str(_first(payload, "direction") or "either").lower(), "moved")
        pct = _first(payload, "pct", "threshold")
        headline = f"🔔 <b>{symbol}</b> {verb}" + (f" {escape(pct)}%" if pct is not None else "")
        window = _first(payload, "window_s")
        if window is not None and str(window).isdigit():
            headline += f" within {int(window) // 60} min"
    else:
        headline = f"🔔 <b>{symbol}</b> " + (escape(kind) if kind else "alert")
    lines = [headline]
    label = _first(payload, "label")
    if label is not None:
        lines.append(f"<i>{escape(label)}</i>")
    price = _first(payload, "price", "last_price")
    if price is not None:
        lines.append(f"Price: <b>{escape(price)}{unit}</b>")
    previous = _first(payload, "previous_price")
    if previous is not None:
        lines.append(f"Previous: {escape(previous)}{unit}")
    change = _first(payload, "change_pct", "percent_change")
    if change is not None:
        # A rise carries its "+" as a fall its "-", so the sign is never left to be guessed.
        signed = f"+{change}" if re.fullmatch(r"\d+(\.\d+)?", change) and float(change) else change
        lines.append(f"Change: {escape(signed)}%")
    if threshold is not None and kind not in _CROSSING and kind not in ("pct_change", "percent_change"):
        lines.append(f"Threshold: {escape(threshold)}")
    details = [f"kind {escape(kind)}"] if kind else []
    rule_id = _first(payload, "rule_id", "rule")
    if rule_id is not None:
        details.append(f"rule <code>{escape(rule_id)}</code>")
    when = _first(payload, "observed_at", "triggered_at", "timestamp")
    if when is not None:
        details.append(escape(when))
    source = _first(payload, "source")
    if source is not None:
        details.append(f"via {escape(source)}")
    if details:
        lines.append("<i>" + " · ".join(details) + "</i>")
    return "\n".join(lines)


def _reason_text(reason: Any) -> str:
    if isinstance(reason, Mapping):
        name = _first(reason, "signal", "name", "reason", "code")
        detail = _first(reason, "detail", "description", "text", "match")
        weight = _first(reason, "weight", "points", "score")
        text = escape(name or "")
        if detail is not None:
            text += f": {escape(detail)}" if text else escape(detail)
        if weight is not None:
            text += f" (+{escape(weight)})"
        return text
    return escape(reason)


def _tweet_line(tweet: Any) -> str:
    if isinstance(tweet, Mapping):
        author = _first(tweet, "screen_name", "author", "username", "user")
        url = _first(tweet, "url", "link")
        tweet_id = _first(tweet, "id", "tweet_id", "rest_id", "_id")
        if url is None and author and tweet_id:
            url = f"https://x.com/{author}/status/{tweet_id}"
        if url is None and tweet_id:
            url = f"https://x.com/i/web/status/{tweet_id}"
        label = f"@{author}" if author else (f"tweet {tweet_id}" if tweet_id else "tweet")
        text = _first(tweet, "text", "full_text")
        quoted = f" — “{escape(_clip(str(text), 200))}”" if text else ""
        return f"• {link(url, label)}{quoted}"
    if isinstance(tweet, str) and tweet.startswith("http"):
        return f"• {link(tweet)}"
    if isinstance(tweet, (str, int)) and str(tweet).isdigit():
        return f"• {link(f'https://x.com/i/web/status/{tweet}', f'tweet {tweet}')}"
    return f"• tweet {escape(tweet)}"


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def render_airdrop_opportunity(payload: Mapping[str, Any]) -> str:
    """An airdrop opportunity.

    Payload (written by airdrop detection; every field optional): `title` (or `project`/`text`),
    `score` (number), `reasons` (strings, or objects with `signal`/`detail`/`weight`), `links` (URLs),
    `source_tweets` (objects with `id`, `screen_name`/`author`, `url`, `text`; or tweet ids/URLs) or
    `source_tweet_ids`,
    `deadline`.
    """
    title = _first(payload, "title", "project", "name")
    if title is None:
        title = _clip(str(_first(payload, "text") or "New airdrop opportunity"), 120)
    lines = [f"🪂 <b>{escape(title)}</b>"]
    score = _first(payload, "score")
    if score is not None:
        lines.append(f"Score: <b>{escape(score)}</b>")
    deadline = _first(payload, "deadline")
    if deadline is not None:
        lines.append(f"Deadline: {escape(deadline)}")
    reasons = [r for r in (_reason_text(r) for r in _as_list(payload.get("reasons"))) if r]
    if reasons:
        lines.append("\n<b>Why</b>\n" + "\n".join(f"• {r}" for r in reasons))
    links = [link(u) for u in _as_list(payload.get("links")) if u]
    if links:
        lines.append("\n<b>Links</b>\n" + "\n".join(f"• {u}" for u in links))
    tweets = [_tweet_line(t) for t in _as_list(_first(payload, "source_tweets", "tweets", "source_tweet_ids"))]
    if tweets:
        lines.append("\n<b>Source tweets</b>\n" + "\n".join(tweets))
    return "\n".join(lines)


def _summary_line(item: Mapping[str, Any]) -> str:
    """One line for a message deferred to the digest."""
    kind = item.get("kind")
    payload = item.get("payload") if isinstance(item.get("payload"), Mapping) else {}
    if kind == "price_alert":
        return render_price_alert(payload).split("\n", 1)[0]
    if kind == "airdrop_opportunity":
        return render_airdrop_opportunity(payload).split("\n", 1)[0]
    return escape(_clip(str(payload.get("text") or kind or "message"), 300))


def render_digest(payload: Mapping[str, Any]) -> str:
    """The daily digest.

    Payload: `local_date` ("YYYY-MM-DD"), `airdrops` (opportunity objects as above, best first),
    `moves` (objects with `symbol`, `open`, `close`, `change_pct`), `deferred` (messages held back by
    quiet hours: objects with `kind` and `payload`). Empty sections are left out.
    """
    date = _first(payload, "local_date", "date")
    lines = [f"📰 <b>Your ImpressoX digest</b>{f' — {escape(date)}' if date else ''}"]
    airdrops = [a for a in _as_list(payload.get("airdrops")) if isinstance(a, Mapping)]
    if airdrops:
        lines.append("\n<b>Top airdrop opportunities</b>")
        for opp in airdrops:
            title = _first(opp, "title", "project", "name") or _clip(str(_first(opp, "text") or "?"), 120)
            score = _first(opp, "score")
            url = _first(opp, "url")
            if url is None:
                url = next(iter(_as_list(opp.get("links"))), None)
            entry = f"• {link(url, title) if url else escape(title)}"
            if score is not None:
                entry += f" — score {escape(score)}"
            lines.append(entry)
    moves = [m for m in _as_list(payload.get("moves")) if isinstance(m, Mapping)]
    if moves:
        lines.append("\n<b>Your symbols today</b>")
        for move in moves:
            change = _first(move, "change_pct")
            arrow = "▲" if change is not None and not str(change).startswith("-") else "▼"
            entry = f"• <b>{escape(_first(move, 'symbol') or '?')}</b> {escape(_first(move, 'close'))}"
            if change is not None:
                entry += f" ({arrow} {escape(change)}%)"
            lines.append(entry)
    deferred = [d for d in _as_list(payload.get("deferred")) if isinstance(d, Mapping)]
    if deferred:
        lines.append("\n<b>While you were in quiet hours</b>")
        lines.extend(f"• {_summary_line(d)}" for d in deferred)
    if len(lines) == 1:
        lines.append("Nothing new today.")
    return "\n".join(lines)


def render_text(payload: Mapping[str, Any]) -> str:
    """A plain message: payload `text` (escaped; any markup in it is shown literally)."""
    return escape(payload.get("text", ""))


TEMPLATES: dict[str, Callable[[Mapping[str, Any]], str]] = {
    "price_alert": render_price_alert,
    "airdrop_opportunity": render_airdrop_opportunity,
    "digest": render_digest,
    "text": render_text,
}


def render(kind: str, payload: Mapping[str, Any]) -> str:
    """The HTML for an outbox message.

    Raises:
        KeyError: for a `kind` without a template.
    """
    return TEMPLATES[kind](payload)


def plain_text(fragment: str) -> str:
    """The text Telegram shows for an HTML fragment (tags removed, entities decoded)."""
    return html.unescape(_TAG.sub("", fragment))


# ---------------------------------------------------------------------------------------------- splitting


@dataclass(frozen=True)
class _Unit:
    text: str
    size: int  # UTF-16 code units
    tag: str | None = None  # tag name for tags
    closing: bool = False
    brk: int = -1  # break priority after this unit; -1 = no break here (inside a tag pair is fine)
    space: bool = False  # whitespace that may be dropped at a break


def _units(message: str) -> list[_Unit]:
    units: list[_Unit] = []
    for match in _UNIT.finditer(message):
        token = match.group(0)
        tag = _TAG.fullmatch(token)
        if tag:
            units.append(_Unit(token, utf16_len(token), tag.group(2).lower(), bool(tag.group(1))))
            continue
        if token in ("\n", "\r\n"):
            paragraph = bool(units) and units[-1].text in ("\n", "\r\n")
            units.append(_Unit(token, utf16_len(token), brk=_PARAGRAPH if paragraph else _LINE, space=True))
        elif token.isspace():
            units.append(_Unit(token, utf16_len(token), brk=_WORD, space=True))
        else:
            units.append(_Unit(token, utf16_len(token), brk=_ANY))
    return units


def _closers(stack: Iterable[_Unit]) -> str:
    return "".join(f"</{u.tag}>" for u in reversed(list(stack)))


def split_message(message: str, limit: int = TELEGRAM_MESSAGE_LIMIT) -> list[str]:
    """Split Telegram HTML into parts of at most `limit` UTF-16 code units each.

    Breaks at a paragraph (blank line), else a line, else a word boundary, else between grapheme
    clusters — never inside a tag, an entity, a surrogate pair or a grapheme cluster. A break is only
    taken where it leaves the part at least half full, unless no such break exists. Tags open at a break
    are closed at the end of the part and re-opened (with their attributes) at the start of the next.
    Whitespace at a break is dropped. A message that already fits is returned unchanged.

    Raises:
        UnsplittableMessage: when a single tag or entity plus the tags it must re-open exceeds `limit`.
    """
    if utf16_len(message) <= limit:
        return [message]
    units = _units(message)
    parts: list[str] = []
    stack: list[_Unit] = []  # open tags at `start`
    start = 0
    while start < len(units):
        while start < len(units) and units[start].space:
            start += 1
        if start >= len(units):
            break
        prefix = "".join(u.text for u in stack)
        used = utf16_len(prefix)
        current = list(stack)
        candidates: list[tuple[int, int, list[_Unit]]] = []  # (end index, priority, stack at end)
        end = start
        while end < len(units):
            unit = units[end]
            after = list(current)
            if unit.tag is not None:
                if unit.closing:
                    for i in range(len(after) - 1, -1, -1):
                        if after[i].tag == unit.tag:
                            del after[i:]
                            break
                else:
                    after.append(unit)
            if used + unit.size + utf16_len(_closers(after)) > limit:
                break
            used += unit.size
            current = after
            end += 1
            # Never break right after an opening tag: the part would end in an empty element.
            if unit.tag is None or unit.closing:
                candidates.append((end, max(unit.brk, _ANY), list(current)))
        if end >= len(units):
            parts.append(prefix + "".join(u.text for u in units[start:]))
            break
        if not candidates or candidates[-1][0] == start:
            raise UnsplittableMessage(f"a unit of {units[end].size} UTF-16 code units cannot fit in {limit}")
        half = start + (end - start) // 2
        chosen = None
        for priority in (_PARAGRAPH, _LINE, _WORD, _ANY):
            good = [c for c in candidates if c[1] == priority and c[0] > half]
            if good:
                chosen = good[-1]
                break
        if chosen is None:
            chosen = max(candidates, key=lambda c: (c[1], c[0]))
        cut, _, cut_stack = chosen
        body_end = cut
        while body_end > start and units[body_end - 1].space:
            body_end -= 1
        parts.append(prefix + "".join(u.text for u in units[start:body_end]) + _closers(cut_stack))
        stack = cut_stack
        start = cut
    return [p for p in parts if plain_text(p).strip()]
