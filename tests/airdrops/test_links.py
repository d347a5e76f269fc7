"""Links: extraction from text and expanded URLs, canonical keys, and the kinds of risky link."""

from __future__ import annotations

import pytest

from impressox_pipelines.airdrops.links import (
    bait_domain,
    extract_links,
    is_brand_domain,
    is_shortener,
    lookalike,
    misspelt_trust_word,
    page_kind,
    parse_link,
    tweet_id_of,
)
from impressox_pipelines.airdrops.text import fold


def keys(text, urls=None):
    return [lk.key for lk in extract_links(fold(text, unmix=False), urls)]


def test_urls_bare_domains_and_defanged_links_are_extracted():
    assert keys("go https://Claim.Example.org/x?utm_source=tw&id=3, now") == ["claim.example.org/x?id=3"]
    assert keys("visit arbitrum-claim[.]xyz/drop today") == ["arbitrum-claim.xyz/drop"]
    assert keys("hxxps://evil.io/a") == ["evil.io/a"]


def test_sentences_and_tco_wrappers_are_not_links():
    assert keys("Bullish.Time to buy. e.g. this") == []
    assert keys("see https://t.co/abc123", ["https://www.arbitrum.io/blog/"]) == ["arbitrum.io/blog"]


def test_links_to_tweets_give_the_tweet_id():
    assert tweet_id_of(parse_link("https://x.com/arbitrum/status/1234567890")) == "1234567890"
    assert tweet_id_of(parse_link("https://twitter.com/i/web/status/99")) == "99"
    assert tweet_id_of(parse_link("https://arbitrum.io/status/1")) is None


@pytest.mark.parametrize("url", [
    "arbitrum-claim.xyz",  # brand + bait word
    "arb1trum.io",  # digit for a letter
    "uniswep.org",  # one letter off
    "xn--arbtrum-8za.io",  # punycode
    "\u0430rbitrum.io",  # Cyrillic "а" in a Latin name
    "arbitrum.claim-portal.app",  # brand as the subdomain of a bait domain
])
def test_lookalike_domains(url):
    assert lookalike(parse_link(url)) is not None


@pytest.mark.parametrize("url", [
    "claim.arbitrum.foundation", "uniswap.org", "solanabeach.io", "polygonscan.com", "арбитрум.рф",
    "arbitrum.gitbook.io",
])
def test_real_and_ecosystem_domains_are_not_lookalikes(url):
    assert lookalike(parse_link(url)) is None


def test_shorteners_bait_domains_and_misspellings():
    assert is_shortener(parse_link("https://bit.ly/3abc"))
    assert not is_shortener(parse_link("https://arbitrum.io"))
    assert bait_domain(parse_link("claimrewards.io")) == "claim"
    assert bait_domain(parse_link("get-drop.net")) == "drop"
    assert bait_domain(parse_link("dropbox.com")) is None
    assert misspelt_trust_word(parse_link("ethgasfoundetion.org")) == "foundation"
    assert misspelt_trust_word(parse_link("lidofoundation.org")) is None


def test_page_kinds_and_brand_domains():
    assert page_kind(parse_link("claim.arbitrum.foundation")) == "claim"
    assert page_kind(parse_link("jup.ag/airdrop/check")) == "claim"
    assert page_kind(parse_link("docs.arbitrum.io/intro")) == "docs"
    assert page_kind(parse_link("medium.com/@zksync/post")) == "docs"
    assert page_kind(parse_link("arbitrum.io")) is None
    assert is_brand_domain(parse_link("www.binance.com/en"))
    assert is_brand_domain(parse_link("rewards.chain.link"))
    assert not is_brand_domain(parse_link("binance-rewards.com"))
