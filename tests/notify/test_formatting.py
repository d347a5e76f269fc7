"""Escaping and splitting: every message is valid Telegram HTML and every part fits in 4,096 UTF-16 units."""

from __future__ import annotations

import html

import pytest

from impressox_pipelines.notify.formatting import (
    TELEGRAM_MESSAGE_LIMIT,
    escape,
    plain_text,
    render,
    render_digest,
    split_message,
    utf16_len,
)
from impressox_pipelines.standins.telegram import parse_html

HOSTILE = 'Claim <b>now</b> & get 2x $ETH!! *bold* _it_ `code` [x](y) "q" \'s\' &amp; </a> <script> 🚀🇺🇸👨‍👩‍👧'


def assert_valid_parts(parts: list[str], limit: int = TELEGRAM_MESSAGE_LIMIT) -> None:
    for part in parts:
        assert utf16_len(part) <= limit
        part.encode("utf-16-le", errors="strict")  # no lone surrogate anywhere
        visible, problem = parse_html(part)  # the stand-in parses HTML the way Telegram does
        assert problem is None, problem
        assert visible.strip()


@pytest.mark.parametrize(
    "kind,payload,field_text",
    [
        ("price_alert", {"symbol": HOSTILE, "kind": "above", "price": "1<2", "threshold": "&100", "rule_id": HOSTILE},
         HOSTILE),
        ("airdrop_opportunity", {"title": HOSTILE, "score": 80,
                                 "reasons": [HOSTILE, {"signal": "claim", "detail": HOSTILE}],
                                 "links": ["https://a.example/claim?x=1&y=<2>", "javascript:alert(1)"],
                                 "source_tweets": [{"id": "1", "screen_name": "a<b", "text": HOSTILE}]}, HOSTILE),
        ("digest", {"local_date": "2026-03-08", "airdrops": [{"title": HOSTILE, "score": 9}],
                    "moves": [{"symbol": "<BTC>", "close": "1&2", "change_pct": "-3"}],
                    "deferred": [{"kind": "text", "payload": {"text": HOSTILE}}]}, HOSTILE),
        ("text", {"text": HOSTILE}, HOSTILE),
    ],
)
def test_templates_escape_every_value_and_telegram_shows_it_literally(kind, payload, field_text):
    message = render(kind, payload)
    visible, problem = parse_html(message)
    assert problem is None, problem
    assert field_text in visible
    assert "<script>" not in message
    assert 'href="javascript' not in message


def test_links_only_for_http_urls_and_hrefs_are_escaped():
    message = render("airdrop_opportunity", {"links": ["https://x.example/?a=1&b='2'", 'https://q.example/"x"',
                                                       "ftp://nope", "claim.example/go"]})
    assert '<a href="https://x.example/?a=1&amp;b=&#x27;2&#x27;">' in message
    assert "https://q.example/&quot;x&quot;" in message and 'href="https://q.example' not in message
    assert "ftp://nope" in message and 'href="ftp' not in message
    assert '<a href="https://claim.example/go">' in message  # the detector's scheme-less link keys


def test_price_alert_template_renders_the_market_monitors_payload_and_tolerates_gaps():
    assert "<b>?</b> alert" in render("price_alert", {})
    # The shape `market.alerts.alert_payload` writes (all strings, "" when absent).
    crossing = plain_text(render("price_alert", {
        "rule_id": "r1", "label": "", "pair": "BTC/USD", "symbol": "BTC", "vs_currency": "usd", "kind": "above",
        "direction": "", "threshold": "100000", "pct": "", "window_s": "", "price": "100012.50",
        "previous_price": "99990", "change_pct": "", "observed_at": "2026-01-01T00:00:00+00:00", "seq": "1"}))
    assert crossing.startswith("🔔 BTC crossed above 100000 USD\nPrice: 100012.50 USD\nPrevious: 99990 USD")
    assert "rule r1" in crossing and "kind above" in crossing
    move = plain_text(render("price_alert", {"symbol": "ETH", "kind": "pct_change", "direction": "down", "pct": "5",
                                             "window_s": "3600", "change_pct": "-5.2", "extra": {"nested": True}}))
    assert move.startswith("🔔 ETH fell 5% within 60 min") and "Change: -5.2%" in move
    rise = plain_text(render("price_alert", {"symbol": "ETH", "kind": "pct_change", "change_pct": "5.2"}))
    assert "Change: +5.2%" in rise  # a rise carries its sign as a fall does
    assert "Threshold: 7" in plain_text(render("price_alert", {"kind": "volume_spike", "threshold": "7"}))


def test_escape_handles_none_and_numbers():
    assert escape(None) == ""
    assert escape(1.5) == "1.5"
    assert html.unescape(escape("<&>\"'")) == "<&>\"'"


def test_short_message_is_not_split():
    assert split_message("<b>hi</b>") == ["<b>hi</b>"]


def test_ascii_paragraphs_split_at_paragraph_boundaries():
    paragraphs = [f"Paragraph {i}: " + "lorem ipsum " * 30 for i in range(40)]
    message = "\n\n".join(paragraphs)
    parts = split_message(message)
    assert len(parts) > 1
    assert_valid_parts(parts)
    # Each part is a run of whole paragraphs, and together they are the message (whitespace at the
    # breaks is dropped).
    for part in parts:
        assert part.startswith("Paragraph") and part.rstrip().endswith("ipsum")
    rejoined = "\n\n".join(parts).split("\n\n")
    assert [p.strip() for p in rejoined] == [p.strip() for p in paragraphs]


def test_3000_emoji_split_between_characters_never_inside_a_surrogate_pair():
    message = "😀" * 3000  # 6,000 UTF-16 code units, 3,000 code points
    parts = split_message(message)
    assert_valid_parts(parts)
    assert [utf16_len(p) for p in parts] == [4096, 6000 - 4096]
    assert "".join(parts) == message


def test_zwj_emoji_sequences_and_flags_are_never_cut():
    family, flag = "👨‍👩‍👧", "🇺🇸"
    message = (family + flag) * 600
    parts = split_message(message)
    assert_valid_parts(parts)
    assert "".join(parts) == message
    for part in parts:
        assert part.replace(family, "").replace(flag, "") == ""


def test_one_long_line_without_spaces_inside_a_tag_is_closed_and_reopened():
    message = '<b><a href="https://example.com/x">' + "A&amp;B" * 2000 + "</a></b>"
    parts = split_message(message)
    assert len(parts) == 4
    assert_valid_parts(parts)
    for part in parts:
        assert part.startswith('<b><a href="https://example.com/x">') and part.endswith("</a></b>")
        assert "&amp" not in part.replace("&amp;", "")  # no entity cut in half
    assert "".join(plain_text(p) for p in parts) == "A&B" * 2000


def test_lines_preferred_over_words_and_words_over_characters():
    lines = "\n".join("word " * 50 for _ in range(60))  # ~15,000 chars, no blank lines
    parts = split_message(lines)
    assert_valid_parts(parts)
    assert all(p.endswith("word") for p in parts[:-1])
    words = " ".join(["abcdefghij"] * 1000)
    parts = split_message(words)
    assert_valid_parts(parts)
    assert all(p.endswith("abcdefghij") and p.startswith("abcdefghij") for p in parts)


def test_20000_character_digest_with_hostile_text_splits_into_valid_parts():
    airdrops = [{"title": f"{i} " + HOSTILE * 3, "score": i, "url": f"https://e.example/{i}?a=1&b=2"}
                for i in range(90)]
    message = render_digest({"local_date": "2026-01-01", "airdrops": airdrops})
    assert len(message) > 20_000
    parts = split_message(message)
    assert len(parts) >= 5
    assert_valid_parts(parts)
    visible = "".join(plain_text(p) for p in parts)
    assert visible.count("🚀") == 270  # nothing lost or doubled
