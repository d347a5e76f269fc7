"""Links in tweets: extraction, canonical form (for dedup), and what kind of page or risk they are.

Domains are split with the Public Suffix List snapshot bundled in `tldextract` (no network), so
`claim.arbitrum.foundation` is a subdomain of `arbitrum.foundation` while `arbitrum-claim.xyz` is a
domain of its own. The look-alike rules follow how fake claim sites are named: a brand plus bait
words (`uniswap-airdrop.xyz`), a brand with a letter swapped or a digit for a letter (`arb1trum.io`),
internationalised (punycode, `xn--`) or non-ASCII host names, and a brand used as a subdomain of an
unrelated domain (`arbitrum.claim-portal.app`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import parse_qsl, urlencode, urlsplit

import tldextract
from rapidfuzz.distance import Levenshtein

from impressox_pipelines.airdrops.text import HOMOGLYPHS

# Offline: the bundled PSL snapshot only (`suffix_list_urls=()`), no cache directory writes.
_EXTRACT = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)

URL_SHORTENERS = frozenset({
    "bit.ly", "tinyurl.com", "t.ly", "cutt.ly", "rb.gy", "is.gd", "v.gd", "shorturl.at", "goo.gl", "ow.ly",
    "buff.ly", "tiny.cc", "rebrand.ly", "s.id", "bl.ink", "shorte.st", "adf.ly", "surl.li", "qrco.de",
    "tiny.one", "short.gy", "t2m.io", "dub.sh", "u.to", "clck.ru", "urlz.fr", "shorturl.asia", "bitly.com",
    "tny.im", "shrtco.de", "cli.re", "gg.gg",
})
# Brands whose claim sites are cloned most (wallets, exchanges, chains with past airdrops). Common
# English words ("base", "blast", "curve", "scroll") are left out: they appear in unrelated domains.
# Names under 4 letters ("jup") only mark their own domain (`jup.ag`); they are too short to hunt for.
BRANDS = frozenset({
    "metamask", "uniswap", "arbitrum", "optimism", "layerzero", "jupiter", "starknet", "zksync", "opensea",
    "binance", "coinbase", "phantom", "ledger", "trezor", "eigenlayer", "celestia", "wormhole", "solana",
    "ethereum", "pancakeswap", "trustwallet", "walletconnect", "rabby", "kraken", "bybit", "kucoin",
    "magiceden", "hyperliquid", "berachain", "pudgypenguins", "dydx", "aptos", "polygon", "avalanche",
    "chainlink", "aave", "etherscan", "pumpfun", "raydium", "jup",
})
# Hosting platforms where a project's own pages live on a subdomain (`arbitrum.gitbook.io`).
HOSTING_PLATFORMS = frozenset({
    "gitbook.io", "medium.com", "mirror.xyz", "notion.site", "github.io", "substack.com", "paragraph.xyz",
    "notion.so", "linktr.ee", "vercel.app", "netlify.app", "pages.dev",
})
DOCS_PLATFORMS = frozenset({"gitbook.io", "medium.com", "mirror.xyz", "notion.site", "substack.com",
                            "paragraph.xyz", "github.com", "notion.so"})
X_HOSTS = frozenset({"x.com", "twitter.com", "mobile.twitter.com", "mobile.x.com", "fxtwitter.com",
                     "vxtwitter.com", "fixupx.com"})
# Most-abused top-level domains for phishing (after Spamhaus' and Interisle's yearly reports).
RISKY_SUFFIXES = frozenset({
    "top", "xyz", "click", "site", "online", "icu", "buzz", "cfd", "sbs", "rest", "lol", "shop", "live",
    "fun", "cyou", "monster", "quest", "bond", "tk", "ml", "ga", "cf", "gq", "support", "claims", "gift", "cc",
    "info",
})
# Words a registered domain name carries when it exists to take a "claim": substrings, then whole tokens.
_BAIT_SUBSTRINGS = ("claim", "airdrop", "giveaway", "reward", "eligib", "getdrop", "freedrop")
_BAIT_TOKENS = frozenset({"drop", "drops", "free", "gift", "bonus", "verify", "validate", "dapp", "sync",
                          "connect", "rectify", "migrate", "restore", "bonuses"})
_PAGE_CLAIM = re.compile(r"claim|airdrop|eligib|checker|allocation|reward|drop\b|/drop|points|season")
_PAGE_DOCS = re.compile(r"(^|/)(docs?|blog|announcements?|faq|learn|news|guide|help|support|articles?)(/|$|\.)")
_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t"})
_TRACKING = re.compile(r"^(utm_\w+|ref|ref_src|ref_url|s|t|fbclid|gclid|si|igshid|mc_cid|mc_eid)$", re.I)
_TWEET_PATH = re.compile(r"^/(?:[A-Za-z0-9_]{1,15}|i(?:/web)?)/status(?:es)?/(\d{1,25})")

_URL = re.compile(r"\bhttps?://[^\s<>\"'`]+|\bwww\.[^\s<>\"'`]+", re.I)
# A bare domain, optionally with a path: "claim-arb.xyz/drop". Not after @ (e-mail, handle) or a dot.
_BARE = re.compile(
    r"(?<![@\w.\-/])((?:[a-z0-9\u00a1-\uffff](?:[a-z0-9\u00a1-\uffff-]{0,61}[a-z0-9\u00a1-\uffff])?\.)+"
    r"[a-z\u00a1-\uffff]{2,24})(/[^\s<>\"'`]*)?(?![\w@])",
    re.I,
)
_TRAILING = ".,;:!?)]}'\"…»"


@dataclass(frozen=True)
class Link:
    """One link: what was written, its parts, and its canonical `key` (`host/path?query`, no tracking)."""

    url: str
    host: str  # lower-case, without "www."
    subdomain: str
    domain: str  # the registrable name, e.g. "arbitrum" of "claim.arbitrum.foundation"
    suffix: str  # the public suffix, e.g. "foundation", "co.uk"
    path: str
    key: str

    @property
    def registered_domain(self) -> str:
        return f"{self.domain}.{self.suffix}" if self.suffix else self.domain


@lru_cache(maxsize=4096)
def parse_link(url: str) -> Link | None:
    """The `Link` of a URL or bare domain, or None when it has no host with a public suffix."""
    raw = url.strip().rstrip(_TRAILING)
    if not re.match(r"^[a-z][a-z0-9+.-]*://", raw, re.I):
        raw = "http://" + raw
    try:
        parts = urlsplit(raw)
        host = (parts.hostname or "").rstrip(".").lower()
    except ValueError:
        return None
    if host.startswith("www."):
        host = host[4:]
    extracted = _EXTRACT(host)
    if not extracted.suffix or not extracted.domain:
        return None
    path = parts.path.rstrip("/")
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _TRACKING.match(k)])
    key = host + path + (f"?{query}" if query else "")
    return Link(url=url, host=host, subdomain=extracted.subdomain, domain=extracted.domain,
                suffix=extracted.suffix, path=path, key=key)


def extract_links(text: str, urls: list[str] | None = None) -> list[Link]:
    """Links of a tweet: its expanded `urls` first, then URLs and bare domains written in `text`.

    `text` should be `text.fold`ed (defanged dots restored). A bare word with a dot counts only when
    its suffix is written in one case ("Bullish.Time" is a sentence, "claim-arb.XYZ" is a domain).
    Duplicates (same `key`) are dropped; X's own `t.co` wrappers are skipped (the expanded URL is in `urls`).
    """
    found: list[Link] = []
    seen: set[str] = set()

    def add(candidate: str) -> None:
        link = parse_link(candidate)
        if link and link.key not in seen and link.registered_domain != "t.co":
            seen.add(link.key)
            found.append(link)

    for url in urls or []:
        if isinstance(url, str) and url.strip():
            add(url)
    spans = []
    for match in _URL.finditer(text or ""):
        add(match.group(0))
        spans.append(match.span())
    for match in _BARE.finditer(text or ""):
        if any(start <= match.start() < end for start, end in spans):
            continue
        tld = match.group(1).rsplit(".", 1)[-1]
        if not (tld.islower() or tld.isupper()):
            continue
        add(match.group(0))
    return found


def tweet_id_of(link: Link) -> str | None:
    """The tweet id a link to `x.com/<user>/status/<id>` points at, else None."""
    if link.host in X_HOSTS:
        match = _TWEET_PATH.match(link.path)
        if match:
            return match.group(1)
    return None


def page_kind(link: Link) -> str | None:
    """"claim" for a claim/eligibility/rewards page, "docs" for documentation or a blog post, else None."""
    where = f"{link.host}{link.path}".lower()
    if _PAGE_CLAIM.search(where):
        return "claim"
    if link.registered_domain in DOCS_PLATFORMS or _PAGE_DOCS.search(link.subdomain + "/" + link.path.lower()):
        return "docs"
    return None


def is_shortener(link: Link) -> bool:
    return link.registered_domain in URL_SHORTENERS or link.host in URL_SHORTENERS


def _letters(name: str) -> str:
    """Lower-case letters only, digits read as the letters they imitate ("arb1trum" → "arbitrum")."""
    return re.sub(r"[^a-z]", "", name.lower().translate(_LEET))


def lookalike(link: Link, brands: frozenset[str] | set[str] = BRANDS) -> str | None:
    """Why the link's domain imitates a brand or hides its spelling, or None. `brands` are lower-case.

    Ecosystem sites that merely contain a brand (`solanabeach.io`, `polygonscan.com`) are not
    look-alikes; a brand next to bait words (`arbitrum-claim.xyz`) or in front of a bait domain is.
    """
    if "xn--" in link.host:
        return f"{link.host} is an internationalised (punycode) domain, a way to draw look-alike letters"
    if not link.host.isascii():
        # A wholly Cyrillic or Chinese name is a genuine IDN; Latin mixed with look-alike letters is not.
        latinised = link.host.translate(HOMOGLYPHS)
        if re.search(r"[a-z]", link.host) and latinised != link.host or any(
            b in _letters(latinised) for b in brands if len(b) >= 4 and latinised.isascii()
        ):
            return f"{link.host} mixes Latin letters with look-alike letters from other scripts"
    name = link.domain.lower()
    letters = _letters(name)
    bait = bait_domain(link)
    for brand in sorted(brands):
        if len(brand) < 4:
            continue
        if letters == brand and name != brand and not name.replace("-", "") == brand:
            return f"{link.registered_domain} spells {brand!r} with substituted characters"
        if brand in letters and letters != brand and bait:
            return f"{link.registered_domain} pairs the brand {brand!r} with the bait word {bait!r}"
        allowed = 1 if len(brand) < 8 else 2
        if (len(brand) >= 5 and brand not in letters and letters[:1] == brand[:1]
                and Levenshtein.distance(letters, brand) <= allowed):
            return f"{link.registered_domain} is one or two letters away from {brand!r}"
        # Brands whose own domain splits the name at the dot (`chain.link`) are cloned by putting a
        # prefix before it: `hub-chain.link` reads as the brand, but its owner is anyone.
        if (len(brand) >= 6 and brand not in letters and brand in _letters(link.registered_domain)
                and _letters(link.registered_domain) != brand):
            return f"{link.registered_domain} spells {brand!r} across the dot, imitating the brand's own domain"
        if (brand in _letters(link.subdomain) and brand not in letters
                and link.registered_domain not in HOSTING_PLATFORMS and (bait or risky_suffix(link))):
            return f"{link.host} puts the brand {brand!r} in front of the unrelated domain {link.registered_domain}"
    return None


def is_brand_domain(link: Link, brands: frozenset[str] | set[str] = BRANDS) -> bool:
    """Whether the registered domain is a brand's own: `binance.com`, `arbitrum.foundation`, `chain.link`."""
    return link.domain.lower() in brands or _letters(link.registered_domain) in brands


# Words fake sites borrow for trust; misspelling one ("foundetion") is a typosquatter's tell.
TRUST_WORDS = ("foundation", "official", "network", "protocol", "finance", "airdrop", "wallet", "support",
               "rewards", "exchange", "ethereum", "bitcoin", "solana", "claims")


def misspelt_trust_word(link: Link) -> str | None:
    """The trust word the registered domain name misspells by one letter ("ethgasfoundetion" → "foundation")."""
    name = re.sub(r"[^a-z]", "", link.domain.lower())
    for word in TRUST_WORDS:
        if word in name:
            continue
        for size in (len(word) - 1, len(word), len(word) + 1):
            for start in range(0, max(0, len(name) - size) + 1):
                piece = name[start:start + size]
                if len(piece) == size and piece[0] == word[0] and Levenshtein.distance(piece, word) == 1:
                    return word
    return None


def bait_domain(link: Link) -> str | None:
    """The bait word in the registered domain name (`claim-rewards.io` → "claim"), or None."""
    name = link.domain.lower()
    for word in _BAIT_SUBSTRINGS:
        if word in name:
            return word
    for token in re.split(r"[^a-z]+", name):
        if token in _BAIT_TOKENS:
            return token
    return None


def risky_suffix(link: Link) -> bool:
    return link.suffix.rsplit(".", 1)[-1] in RISKY_SUFFIXES
