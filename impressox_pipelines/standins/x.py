"""The local x.com: web pages whose script fetches GraphQL, and the GraphQL endpoints themselves.

Pages (what the `browser` backend opens):
    GET /search?q=<query>&f=live   the Latest tab; its script calls SearchTimeline and, when scrolled to
                                   the bottom, calls it again with the Bottom cursor
    GET /<screen_name>             a profile; its script calls UserByScreenName, then UserTweets
Endpoints (what the page script and the `api` backend call):
    GET /i/api/graphql/<queryId>/<Operation>?variables=<json>&features=<json>
Static: /img/… (PNG avatars and photos), /video/… (mp4), /fonts/chirp.woff2 — at x.com-like sizes and
80 ms latency, so that blocking them is measurable.

Authentication is checked like x.com does: the `auth_token` cookie must belong to a known account, the
`ct0` cookie must match the `x-csrf-token` header, and a bearer token must be present. Unknown or
expired sessions get 401 (X error 32), suspended accounts 403 (error 64), locked ones 403 (error 326).
Each account has a request budget per operation and window; past it the answer is 429 with
`x-rate-limit-limit`, `x-rate-limit-remaining: 0` and `x-rate-limit-reset` (epoch seconds).

Data: by default, crypto-flavoured tweets generated deterministically per (query, UTC day) in the
real 2026 response shapes (retweets, quotes, long note tweets, a TweetWithVisibilityResults wrapper,
a tombstone, a promoted entry, airdrop announcements and scam-like posts), dated inside the
`since:`/`until:` window of the query. With `replay_dir` (e.g. ../shared/fixtures), SearchTimeline
wraps the real post texts of `janitr_x_posts/sample.jsonl` in the same shape, and the other operations
replay the real `twscrape/` captures (their first page).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import html
import json
import random
import re
import struct
import threading
import time
import zlib
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import bs4
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from impressox_pipelines.x.graphql import BEARER_TOKEN, FEATURES, QUERY_IDS

DEMO_ACCOUNTS_FILE = Path(__file__).with_name("x_demo_accounts.json")
TWITTER_EPOCH_MS = 1288834974657
PAGE_SIZE = 20
REPLAY_FILES = {
    "SearchTimeline": "raw_search.json",
    "UserTweets": "raw_user_tweets.json",
    "UserTweetsAndReplies": "raw_user_tweets_and_replies.json",
    "UserMedia": "raw_user_media.json",
    "TweetDetail": "raw_tweet_details.json",
    "ListLatestTweetsTimeline": "raw_list_timeline.json",
    "CommunityTweetsTimeline": "raw_community_tweets.json",
    "UserByScreenName": "raw_user_by_login.json",
}


@dataclass
class StandInAccount:
    """An account the stand-in knows: `state` is "ok" | "expired" | "suspended" | "locked";
    `rate_limit` is the number of requests per operation and window before 429."""

    username: str
    auth_token: str
    ct0: str
    state: str = "ok"
    rate_limit: int = 300


# ---------------------------------------------------------------------------------------------------------
# Generated data, in X's 2026 GraphQL shapes.

@dataclass(frozen=True)
class _User:
    handle: str
    name: str
    followers: int
    created: datetime
    verified_type: str | None = None

    @property
    def id(self) -> str:
        return str(int(hashlib.sha256(self.handle.lower().encode()).hexdigest()[:12], 16))


_PROJECTS = [
    _User("NovaChainHQ", "NovaChain", 412_000, datetime(2019, 3, 2, tzinfo=UTC), "Business"),
    _User("zkLayerLabs", "zkLayer Labs", 188_500, datetime(2020, 8, 14, tzinfo=UTC), "Business"),
    _User("OrbitSwap", "OrbitSwap DEX", 96_300, datetime(2021, 1, 9, tzinfo=UTC)),
    _User("PixelDAO", "Pixel DAO", 51_200, datetime(2021, 11, 30, tzinfo=UTC)),
]
PROJECT_HANDLES = [u.handle for u in _PROJECTS]  # official accounts of the stand-in's fictional projects
_PEOPLE = [
    _User("chain_watcher", "Chain Watcher", 23_400, datetime(2018, 5, 5, tzinfo=UTC)),
    _User("defi_dana", "Dana | DeFi", 8_900, datetime(2020, 2, 2, tzinfo=UTC)),
    _User("satoshi_fan_42", "sat fan", 310, datetime(2016, 7, 7, tzinfo=UTC)),
]
_SCAMMERS = [
    _User("NovaChain_Airdr0p", "NovaChain Airdrop", 14, datetime(2026, 1, 3, tzinfo=UTC)),
    _User("zkLayer_claims", "zkLayer Claims 🎁", 57, datetime(2026, 2, 11, tzinfo=UTC)),
]
_TOKENS = {"NovaChainHQ": "NOVA", "zkLayerLabs": "ZKL", "OrbitSwap": "ORB", "PixelDAO": "PXL"}

_MARKET = [
    "$BTC reclaiming {p}k & $ETH following. Funding flat, open interest rising — careful with leverage.",
    "Gas on mainnet is at {g} gwei <- good time to bridge. L2 fees under $0.01 today.",
    "Weekly recap: TVL on {project} up {pct}% & daily active wallets at an all-time high. #DeFi",
    "Thread on why restaking yields compress as TVL grows ({pct}% APR today). Not financial advice.",
]
_ANNOUNCE = [
    "🪂 The ${token} airdrop is live! Eligible wallets can claim until {deadline} at {url} — snapshot "
    "was taken at block {block}. Never share your seed phrase; we will never DM you. #airdrop",
    "Season 2 of the {name} points program ends {deadline}. Points convert to ${token} in the upcoming "
    "airdrop; check eligibility at {url} #airdrop",
]
_SCAM = [
    "🚨 FREE {amount} ${token} AIRDROP 🚨 Only 2 hours left!! Connect your wallet at {url} to claim "
    "before it's gone 💸💸 #airdrop #giveaway",
    "{name} is giving back to the community: send 0.1 ETH to verify your wallet and receive 1 ETH + "
    "${token} airdrop instantly → {url}",
]
_LONG = (
    "Big update for {name} builders 🧵\n\n1. The ${token} staking contract migrates on {deadline}. Funds "
    "in the old contract keep earning until then; nothing to do if you use the app.\n\n2. Grants round 4 "
    "opens next week & covers tooling, indexers and wallets. Apply at {url}\n\n3. Airdrop season 3 "
    "criteria: bridging, providing liquidity for 30+ days and governance votes. Sybil clusters are "
    "filtered out with on-chain heuristics, so please don't farm with 200 wallets.\n\nQuestions below 👇"
)


def _snowflake(created: datetime, seq: int) -> str:
    ms = int(created.timestamp() * 1000) - TWITTER_EPOCH_MS
    return str((ms << 22) | (seq & 0x3FFFFF))


def _x_time(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%a %b %d %H:%M:%S +0000 %Y")


def _user_result(user: _User) -> dict:
    return {
        "__typename": "User",
        "rest_id": user.id,
        "id": base64.b64encode(f"User:{user.id}".encode()).decode(),
        "core": {"created_at": _x_time(user.created), "name": user.name, "screen_name": user.handle},
        "avatar": {"image_url": f"/img/avatar/{user.handle}.jpg"},
        "is_blue_verified": user.followers > 1000,
        "verification": {"verified": False, **({"verified_type": user.verified_type} if user.verified_type else {})},
        "relationship_counts": {"followers": user.followers, "following": 120},
        "tweet_counts": {"tweets": 1200, "media_tweets": 200},
        "privacy": {"protected": False},
        "profile_bio": {"description": f"{user.name} on the stand-in"},
        "location": {"location": ""},
    }


def _entities(text: str, urls: list[tuple[str, str]]) -> dict:
    def spans(pattern: str, key: str) -> list[dict]:
        return [{key: m.group(1), "indices": [m.start(), m.end()]} for m in re.finditer(pattern, text)]

    return {
        "hashtags": spans(r"#(\w+)", "text"),
        "symbols": spans(r"\$([A-Za-z]{2,6})\b", "text"),
        "user_mentions": [{**m, "screen_name": m["text"], "name": m["text"], "id_str": "1"}
                          for m in spans(r"@(\w+)", "text")],
        "urls": [{"url": tco, "expanded_url": full, "display_url": full.split("//", 1)[-1][:24],
                  "indices": [text.find(tco), text.find(tco) + len(tco)]} for tco, full in urls],
    }


def _tweet_result(tid: str, user: _User, created: datetime, text: str, urls: list[tuple[str, str]],
                  rng: random.Random, *, media: bool = False, long_text: bool = False) -> dict:
    """A `Tweet` object: `legacy.full_text` HTML-escaped as X sends it, long texts as note tweets."""
    shown = text
    result: dict[str, Any] = {"__typename": "Tweet", "rest_id": tid}
    if long_text:
        shown = text[:275] + "…"
        result["note_tweet"] = {"is_expandable": True, "note_tweet_results": {"result": {
            "id": base64.b64encode(f"NoteTweetResults:{tid}".encode()).decode(),
            "text": text, "entity_set": _entities(text, urls)}}}
    legacy: dict[str, Any] = {
        "id_str": tid,
        "user_id_str": user.id,
        "created_at": _x_time(created),
        "conversation_id_str": tid,
        "full_text": html.escape(shown, quote=False),
        "display_text_range": [0, len(shown)],
        "entities": _entities(shown, [u for u in urls if u[0] in shown]),
        "lang": "en",
        "favorite_count": rng.randint(0, 5000),
        "retweet_count": rng.randint(0, 900),
        "reply_count": rng.randint(0, 300),
        "quote_count": rng.randint(0, 80),
        "bookmark_count": rng.randint(0, 200),
        "is_quote_status": False,
    }
    if media:
        legacy["extended_entities"] = {"media": [{
            "type": "photo", "media_url_https": f"/img/media/{tid}.jpg",
            "expanded_url": f"https://x.com/{user.handle}/status/{tid}/photo/1", "url": "https://t.co/m" + tid[-6:]}]}
    result["core"] = {"user_results": {"result": _user_result(user)}}
    result["legacy"] = legacy
    result["views"] = {"count": str(rng.randint(1_000, 900_000)), "state": "EnabledWithCount"}
    return result


def _tweet_entry(result: dict, promoted: bool = False) -> dict:
    tid = result.get("rest_id") or result.get("tweet", {}).get("rest_id") or "0"
    item: dict[str, Any] = {"__typename": "TimelineTweet", "itemType": "TimelineTweet",
                            "tweetDisplayType": "Tweet", "tweet_results": {"result": result}}
    if promoted:
        item["promotedMetadata"] = {"advertiser_results": {"result": {"__typename": "User"}},
                                    "disclosureType": "NoDisclosure", "impressionId": "stand-in"}
    return {"entryId": f"{'promoted-' if promoted else ''}tweet-{tid}", "sortIndex": tid,
            "content": {"__typename": "TimelineTimelineItem", "entryType": "TimelineTimelineItem",
                        "itemContent": item}}


def _cursor_entry(kind: str, value: str) -> dict:
    return {"entryId": f"cursor-{kind.lower()}-{value[-12:]}", "sortIndex": "0",
            "content": {"__typename": "TimelineTimelineCursor", "entryType": "TimelineTimelineCursor",
                        "cursorType": kind, "value": value}}


def _encode_cursor(scope: str, offset: int) -> str:
    return base64.urlsafe_b64encode(f"{scope}|{offset}".encode()).decode().rstrip("=")


def _decode_cursor(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        return int(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode().rsplit("|", 1)[1])
    except (ValueError, IndexError, UnicodeDecodeError):
        return 0


def _parse_search(raw_query: str) -> tuple[str, date, date, str | None]:
    """(base query without date operators, first day, day after the last, from: handle)."""
    since = re.search(r"since:(\d{4}-\d{2}-\d{2})", raw_query)
    until = re.search(r"until:(\d{4}-\d{2}-\d{2})", raw_query)
    author = re.search(r"from:@?(\w+)", raw_query)
    base = re.sub(r"\s*(since|until):\S+", "", raw_query).strip()
    first = date.fromisoformat(since.group(1)) if since else datetime.now(UTC).date()
    end = date.fromisoformat(until.group(1)) if until else first + timedelta(days=1)
    return base, first, max(end, first + timedelta(days=1)), author.group(1) if author else None


def _day_rng(*parts: object) -> random.Random:
    return random.Random(int(hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()[:16], 16))


def _link(rng: random.Random, expanded: str) -> tuple[str, str]:
    alphabet = "abcdefghijkmnpqrstuvwxyzABCDEFGH23456789"
    return "https://t.co/" + "".join(rng.choice(alphabet) for _ in range(10)), expanded


def generated_day(base: str, day: date, author: str | None) -> list[dict]:
    """The timeline entries one (query, UTC day) yields, newest first (deterministic)."""
    rng = _day_rng(base.lower(), day.isoformat())
    count = rng.randint(24, 36)
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    times = sorted((start + timedelta(seconds=rng.randint(0, 86_399)) for _ in range(count)), reverse=True)
    own = next((u for u in _PROJECTS + _PEOPLE + _SCAMMERS if author and u.handle.lower() == author.lower()),
               None) or (_User(author, author, 5_000, datetime(2020, 1, 1, tzinfo=UTC)) if author else None)
    terms = [w for w in re.findall(r"[\w$#]+", re.sub(r"from:@?\w+", "", base)) if not w.startswith("-")]
    entries = []
    for i, created in enumerate(times):
        tid = _snowflake(created, i)
        project = rng.choice(_PROJECTS)
        token = _TOKENS[project.handle]
        values = {"p": rng.randint(60, 140), "g": rng.randint(3, 60), "pct": rng.randint(2, 40),
                  "project": project.name, "name": project.name, "token": token,
                  "block": rng.randint(19_000_000, 23_000_000),
                  "amount": rng.choice(["5,000", "10,000", "25,000"]),
                  "deadline": (day + timedelta(days=rng.randint(3, 30))).strftime("%B %d")}
        kind = ("scam" if i % 6 == 4 and not own else "announce" if i % 6 == 1 else "long" if i % 12 == 5 else "market")
        if kind == "scam":
            user = own or rng.choice(_SCAMMERS)
            url = _link(rng, f"https://{project.handle.lower()}-claim.app/connect?ref={rng.randint(100, 999)}")
            text = rng.choice(_SCAM).format(url=url[0], **values)
        elif kind == "announce":
            user = own or project
            url = _link(rng, f"https://{project.handle.lower()}.xyz/airdrop")
            text = rng.choice(_ANNOUNCE).format(url=url[0], **values)
        elif kind == "long":
            user = own or project
            url = _link(rng, f"https://{project.handle.lower()}.xyz/grants")
            text = _LONG.format(url=url[0], **values)
        else:
            user = own or rng.choice(_PEOPLE + _PROJECTS)
            url = None
            text = rng.choice(_MARKET).format(**values)
        missing = [t for t in terms if t.lower() not in text.lower()]
        if missing:
            text += " " + " ".join(missing)
        urls = [url] if url else []
        result = _tweet_result(tid, user, created, text, urls, rng, media=(i % 5 == 2), long_text=kind == "long")
        if i % 10 == 7:  # a retweet: the outer text is the truncated "RT @…" form, the original is nested
            original_time = created - timedelta(minutes=rng.randint(5, 600))
            original = _tweet_result(_snowflake(original_time, 1000 + i), project, original_time,
                                     text, urls, rng)
            result["legacy"]["retweeted_status_result"] = {"result": original}
            rt_text = f"RT @{project.handle}: {text}"
            result["legacy"]["full_text"] = html.escape(rt_text[:137] + "…" if len(rt_text) > 140 else rt_text,
                                                        quote=False)
            result["legacy"]["favorite_count"] = 0
            result.pop("views", None)
            result["views"] = {"state": "Enabled"}
        elif i % 10 == 3:  # quoting a project announcement from another day
            q_time = created - timedelta(days=1, minutes=rng.randint(0, 600))
            q_text = _ANNOUNCE[0].format(url="https://t.co/q" + tid[-8:], **values)
            quoted = _tweet_result(_snowflake(q_time, 2000 + i), project, q_time, q_text,
                                   [("https://t.co/q" + tid[-8:], f"https://{project.handle.lower()}.xyz/airdrop")],
                                   rng)
            result["quoted_status_result"] = {"result": quoted}
            result["legacy"]["is_quote_status"] = True
            result["legacy"]["quoted_status_id_str"] = quoted["rest_id"]
        if i % 10 == 6:  # limited-visibility tweets arrive wrapped; the inner tweet has no __typename
            inner = {k: v for k, v in result.items() if k != "__typename"}
            result = {"__typename": "TweetWithVisibilityResults", "tweet": inner,
                      "limitedActionResults": {"limited_actions": [{"action": "Reply"}]}}
        entries.append(_tweet_entry(result, promoted=(i == 9)))
        if i == 13:  # a deleted post keeps its slot as a tombstone
            entries.append({"entryId": f"tweet-{int(tid) - 1}", "sortIndex": str(int(tid) - 1), "content": {
                "__typename": "TimelineTimelineItem", "entryType": "TimelineTimelineItem", "itemContent": {
                    "__typename": "TimelineTweet", "itemType": "TimelineTweet", "tweet_results": {"result": {
                        "__typename": "TweetTombstone", "tombstone": {"__typename": "TextTombstone", "text": {
                            "text": "This Post was deleted by the Post author. Learn more", "entities": []}}}}}}})
    return entries


def _janitr_posts(replay_dir: Path) -> list[dict]:
    path = replay_dir / "janitr_x_posts" / "sample.jsonl"
    if not path.exists():
        return []
    posts = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record.get("text"), str) and record["text"].strip():
            posts.append(record)
    return posts


def replayed_day(posts: list[dict], base: str, day: date, author: str | None) -> list[dict]:
    """Real post texts (janitr sample) as SearchTimeline entries dated inside `day` (deterministic)."""
    rng = _day_rng("janitr", base.lower(), day.isoformat())
    words = [w.lower().lstrip("$#") for w in re.findall(r"[\w$#]+", re.sub(r"from:@?\w+", "", base))]
    matching = [p for p in posts if any(w in p["text"].lower() for w in words)] if words else posts
    chosen = rng.sample(matching or posts, min(len(matching or posts), rng.randint(25, 40)))
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    times = sorted((start + timedelta(seconds=rng.randint(0, 86_399)) for _ in chosen), reverse=True)
    entries = []
    for i, (post, created) in enumerate(zip(chosen, times, strict=True)):
        handle = author
        if not handle:
            match = re.search(r"(?:x|twitter)\.com/(\w+)/status", post.get("source_url") or post.get("url") or "")
            handle = match.group(1) if match else f"user_{hashlib.sha1(post['id'].encode()).hexdigest()[:8]}"
        user = _User(handle, handle, rng.randint(5, 50_000), datetime(2015 + rng.randint(0, 11), 1, 1, tzinfo=UTC))
        urls = [_link(rng, u) for u in post.get("urls") or [] if isinstance(u, str)]
        text = post["text"] + "".join(f" {tco}" for tco, _ in urls)
        entries.append(_tweet_entry(_tweet_result(_snowflake(created, i), user, created, text, urls, rng)))
    return entries


# ---------------------------------------------------------------------------------------------------------
# The web app.

_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>{title} / X</title>
<style>@font-face {{ font-family: Chirp; src: url(/fonts/chirp.woff2) format("woff2"); }}
body {{ font-family: Chirp, sans-serif; max-width: 600px; margin: auto; }}
article {{ border-bottom: 1px solid #eee; padding: 12px; min-height: 120px; }}
article img.avatar {{ width: 40px; height: 40px; border-radius: 20px; }} article img.media {{ width: 100%; }}</style>
</head><body><main id="timeline" data-testid="primaryColumn"></main><div id="sentinel">Loading…</div>
<script>
const BEARER = "{bearer}";
const MODE = {mode};
const QIDS = {qids};
const FEATURES = {features};
const KEY = {key_bytes};
const ANIMATION_KEY = "{animation_key}";
function csrf() {{ const m = document.cookie.match(/(?:^|; )ct0=([^;]+)/); return m ? m[1] : ""; }}
// x-client-transaction-id, computed as x.com's web app does it from the verification key and animation key.
async function transactionId(method, path) {{
  const ts = Math.floor((Date.now() - 1682924400 * 1000) / 1000);
  const tsBytes = [0, 1, 2, 3].map(i => (ts >> (i * 8)) & 0xff);
  const text = new TextEncoder().encode(`${{method}}!${{path}}!${{ts}}obfiowerehiring${{ANIMATION_KEY}}`);
  const hash = new Uint8Array(await crypto.subtle.digest("SHA-256", text));
  const r = Math.floor(Math.random() * 256);
  const bytes = [r, ...[...KEY, ...tsBytes, ...hash.slice(0, 16), 3].map(b => b ^ r)];
  return btoa(String.fromCharCode(...bytes)).replace(/=+$/, "");
}}
async function gql(op, variables) {{
  const params = new URLSearchParams({{variables: JSON.stringify(variables), features: JSON.stringify(FEATURES)}});
  const path = `/i/api/graphql/${{QIDS[op]}}/${{op}}`;
  const r = await fetch(path + "?" + params, {{credentials: "include",
    headers: {{authorization: "Bearer " + BEARER, "x-csrf-token": csrf(), "x-twitter-active-user": "yes",
               "x-client-transaction-id": await transactionId("GET", path)}}}});
  if (!r.ok) {{
    document.getElementById("sentinel").textContent = "Something went wrong (" + r.status + ")";
    return null;
  }}
  return r.json();
}}
function walk(node, found) {{
  if (Array.isArray(node)) {{ node.forEach(n => walk(n, found)); return; }}
  if (!node || typeof node !== "object") return;
  if (node.__typename === "TimelineTimelineCursor" && node.cursorType === "Bottom") found.bottom = node.value;
  if (node.__typename === "TimelineTweet" && node.tweet_results && node.tweet_results.result) {{
    let t = node.tweet_results.result; if (t.tweet) t = t.tweet;
    if (t.legacy) found.tweets.push(t);
  }}
  Object.values(node).forEach(v => walk(v, found));
}}
let cursor = null, loading = false, done = false, userId = null;
async function loadMore() {{
  if (loading || done) return; loading = true;
  const vars = MODE.op === "SearchTimeline"
    ? {{rawQuery: MODE.query, count: 20, querySource: "typed_query", product: "Latest"}}
                                           : {{userId: userId, count: 20, includePromotedContent: true}};
  if (cursor) vars.cursor = cursor;
  const data = await gql(MODE.op, vars);
  loading = false;
  if (!data) {{ done = true; return; }}
  const found = {{tweets: [], bottom: null}}; walk(data, found);
  const main = document.getElementById("timeline");
  for (const t of found.tweets) {{
    const u = t.core.user_results.result; const handle = (u.core || u.legacy || {{}}).screen_name;
    const a = document.createElement("article"); a.dataset.testid = "tweet";
    const media = ((t.legacy.extended_entities || {{}}).media || []).map(m =>
      `<img class="media" src="/img/media/${{t.rest_id}}.jpg">` +
      `<video src="/video/${{t.rest_id}}.mp4" preload="auto" muted></video>`).join("");
    a.innerHTML = `<img class="avatar" src="/img/avatar/${{handle}}.jpg"><b>@${{handle}}</b>` +
      `<p>${{t.legacy.full_text}}</p>` + media;
    main.appendChild(a);
  }}
  if (!found.tweets.length || !found.bottom || found.bottom === cursor) {{
    done = true; document.getElementById("sentinel").textContent = ""; return;
  }}
  cursor = found.bottom;
  if (document.body.scrollHeight <= window.innerHeight + 10) loadMore();
}}
window.addEventListener("scroll", () => {{
  if (window.innerHeight + window.scrollY >= document.body.scrollHeight - 300) loadMore();
}});
(async () => {{
  if (MODE.op !== "SearchTimeline") {{
    const u = await gql("UserByScreenName", {{screen_name: MODE.screen_name}});
    userId = u && u.data && u.data.user && u.data.user.result && u.data.user.result.rest_id;
    if (!userId) {{
      if (u) document.getElementById("sentinel").textContent = "This account doesn\u2019t exist";
      return;
    }}
  }}
  loadMore();
}})();
</script></body></html>"""


class XSite:
    """What x.com's pages and scripts say today: the verification key and animation frames of the home
    page, the on-demand script (key-byte indices), the main bundle (query ids and feature switches),
    and the features GraphQL requires. Tests change it while a scrape runs (`rotate_query_id`,
    `require_feature`, `new_keys`); `verify` checks a transaction id as x.com does.

    The home page and the on-demand script are written so that `xclienttransaction` reads them as it
    reads x.com's: `<meta name="twitter-site-verification">` (48 random bytes, base64), four
    `svg#loading-x-anim-N > g > path:nth-child(2)` frames of 16 rows of 11 numbers, the chunk maps
    `,<n>:"ondemand.s"` / `,<n>:"<hash>"`, and `(a[NN], 16)` index patterns in the script.
    """

    KEY_LENGTH = 48
    EPOCH_S = 1682924400  # the transaction id's time origin (x.com's web app)
    TOLERANCE_S = 24 * 3600

    def __init__(self, seed: int = 16, clock=time.time):
        self.rng = random.Random(seed)
        self.clock = clock
        self.query_ids = dict(QUERY_IDS)
        self.required_features = set(FEATURES)
        self.unlisted_features: set[str] = set()  # required but absent from the bundle (only a 400 names them)
        self.bundle_lists_query_ids = True
        self.error_pages = False  # every page shows "Something went wrong" (x.com's error view)
        self.missing_handles: set[str] = set()  # lower-case handles whose profile does not exist
        self.new_keys()

    def new_keys(self) -> None:
        """A new verification key, frames, on-demand script and hashes (x.com deploys a new build)."""
        rng = self.rng
        self.key_bytes = [rng.randrange(256) for _ in range(self.KEY_LENGTH)]
        self.key = base64.b64encode(bytes(self.key_bytes)).decode()
        self.indices = [rng.randrange(self.KEY_LENGTH) for _ in range(4)]
        self.frames = [[[rng.randrange(256) for _ in range(11)] for _ in range(16)] for _ in range(4)]
        self.ondemand_hash = f"{rng.randrange(16 ** 7):07x}"
        self.main_hash = f"{rng.randrange(16 ** 8):08x}"
        from x_client_transaction import ClientTransaction

        # The server side of the check uses the same library as the client: what it proves is that the
        # client read THIS page and script with its account and signed THIS method and path.
        self.animation_key = ClientTransaction(bs4.BeautifulSoup(self.home_html(), "html.parser"),
                                               self.ondemand_js()).animation_key

    def rotate_query_id(self, operation: str) -> str:
        """Give `operation` a new query id (the old one answers 404 from now on); returns it."""
        alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"
        self.query_ids[operation] = "".join(self.rng.choice(alphabet) for _ in range(22))
        self.main_hash = f"{self.rng.randrange(16 ** 8):08x}"
        return self.query_ids[operation]

    def require_feature(self, name: str, *, in_bundle: bool = True) -> None:
        """Make GraphQL answer 400 without `name`; `in_bundle=False` keeps it out of the main bundle."""
        self.required_features.add(name)
        if not in_bundle:
            self.unlisted_features.add(name)

    def features(self) -> dict[str, bool]:
        """What the web app's own page sends (the shipped values, plus every required one)."""
        return {**FEATURES, **{n: False for n in sorted(self.required_features) if n not in FEATURES}}

    def home_html(self) -> str:
        svgs = "".join(
            f'<svg id="loading-x-anim-{n}" width="0" height="0" aria-hidden="true"><g><path d="M0 0h1"/>'
            f'<path d="M 10,30 C{" C".join(" ".join(map(str, row)) for row in frame)}"/></g></svg>'
            for n, frame in enumerate(self.frames))
        return (
            '<!DOCTYPE html><html dir="ltr" lang="en"><head><meta charset="utf-8">'
            f'<meta name="twitter-site-verification" content="{self.key}"/>'
            f'<link rel="preload" as="script" href="https://abs.twimg.com/responsive-web/client-web/'
            f'main.{self.main_hash}.js"/><title>X</title></head><body>{svgs}'
            '<script>window.__SCRIPTS__={names:{1:"main",20113:"ondemand.s",28:"vendor"},'
            f'hashes:{{1:"{self.main_hash[:7]}",20113:"{self.ondemand_hash}",28:"0a1b2c3"}}}};</script>'
            f'<script src="https://abs.twimg.com/responsive-web/client-web/main.{self.main_hash}.js"></script>'
            '</body></html>')

    def ondemand_js(self) -> str:
        row, *rest = self.indices
        reads = ",".join(f"parseInt(a[{i}], 16)" for i in [row, *rest])
        return ('"use strict";(self.webpackChunk_twitter_responsive_web=self.webpackChunk_twitter_responsive_web'
                f'||[]).push([["ondemand.s"],{{20113:(e,t,n)=>{{n.d(t,{{default:()=>o}});'
                f'const o=a=>[{reads}]}}}}]);')

    def main_js(self) -> str:
        listed = sorted(self.required_features - self.unlisted_features)
        switches = ",".join(f'"{n}"' for n in listed)
        if not self.bundle_lists_query_ids:
            return '"use strict";(self.webpackChunk=self.webpackChunk||[]).push([["main"],{}]);'
        body = ",".join(
            f'{n}:e=>{{e.exports={{queryId:"{qid}",operationName:"{op}",operationType:"query",'
            f'metadata:{{featureSwitches:[{switches}],fieldToggles:["withArticleRichContentState"]}}}}}}'
            for n, (op, qid) in enumerate(sorted(self.query_ids.items()), start=1000))
        return f'"use strict";(self.webpackChunk=self.webpackChunk||[]).push([["main"],{{{body}}}]);'

    def verify(self, transaction_id: str | None, method: str, path: str) -> bool:
        """Whether `transaction_id` is well-formed base64 of the right length, carries this key, a time
        within a day of now and the hash of `method`, `path` and this animation key."""
        if not transaction_id or not re.fullmatch(r"[A-Za-z0-9+/]+", transaction_id):
            return False
        try:
            raw = base64.b64decode(transaction_id + "=" * (-len(transaction_id) % 4), validate=True)
        except ValueError:
            return False
        if len(raw) != 1 + self.KEY_LENGTH + 4 + 16 + 1:
            return False
        data = [b ^ raw[0] for b in raw[1:]]
        key, stamp, digest, last = (data[:self.KEY_LENGTH], data[self.KEY_LENGTH:self.KEY_LENGTH + 4],
                                    data[self.KEY_LENGTH + 4:-1], data[-1])
        seconds = int.from_bytes(bytes(stamp), "little")
        if key != self.key_bytes or last != 3 or abs(self.EPOCH_S + seconds - self.clock()) > self.TOLERANCE_S:
            return False
        expected = hashlib.sha256(f"{method}!{path}!{seconds}obfiowerehiring{self.animation_key}".encode()).digest()
        return list(expected[:16]) == digest


def _features_error(missing: list[str]) -> JSONResponse:
    """X's 400 for missing feature switches, in its exact shape (code 336)."""
    tracing = {"trace_id": hashlib.sha1(",".join(missing).encode()).hexdigest()[:16]}
    message = f"The following features cannot be null: {', '.join(missing)}"
    return JSONResponse({"errors": [{
        "message": message,
        "extensions": {"name": "BadRequestError", "source": "Client", "code": 336, "kind": "Validation",
                       "tracing": tracing},
        "code": 336, "kind": "Validation", "name": "BadRequestError", "source": "Client", "tracing": tracing}]},
        status_code=400)


_LOGIN_PAGE = """<!doctype html><html><head><title>Log in to X / X</title></head><body>
<h1>Sign in to X</h1><form action="/i/flow/login" method="post"><input name="username"
placeholder="Phone, email, or username"><button>Next</button></form></body></html>"""
_LOCKED_PAGE = """<!doctype html><html><head><title>X</title></head><body><h1>Your account has been locked.</h1>
<p>We've temporarily limited some of your account features.</p><button>Start</button></body></html>"""
_ERROR_PAGE = """<!doctype html><html><head><title>X</title></head><body><main>
<p>Something went wrong. Try reloading.</p><button>Retry</button></main></body></html>"""


class _RateLimiter:
    """Fixed windows per (account, operation), like X's 15-minute windows."""

    def __init__(self, window_s: float):
        self.window_s = window_s
        self.lock = threading.Lock()
        self.windows: dict[tuple[str, str], tuple[float, int]] = defaultdict(lambda: (0.0, 0))

    def hit(self, account: str, operation: str, limit: int) -> tuple[bool, int, int]:
        """(allowed, remaining, reset epoch seconds)."""
        with self.lock:
            now = time.time()
            start, used = self.windows[(account, operation)]
            if now - start >= self.window_s:
                start, used = now, 0
            allowed = used < limit
            used += 1 if allowed else 0
            self.windows[(account, operation)] = (start, used)
            return allowed, max(0, limit - used), int(start + self.window_s)


def _png(width: int, height: int, seed: int) -> bytes:
    """A valid PNG of noise (incompressible, like a photo)."""
    rng = random.Random(seed)
    rows = b"".join(b"\0" + rng.randbytes(width * 3) for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows, 1)) + chunk(b"IEND", b"")


def _error(status: int, code: int, message: str, headers: dict | None = None) -> JSONResponse:
    return JSONResponse({"errors": [{"code": code, "message": message}]}, status_code=status, headers=headers)


def create_app(replay_dir: Path | None = None, *, accounts: list[StandInAccount] | None = None,
               window_s: float = 900.0, static_delay_s: float = 0.08, page_size: int = PAGE_SIZE,
               site: XSite | None = None) -> Starlette:
    """The X stand-in as an ASGI app (`app.state.site` is its `XSite`, `app.state.stats` its counters).

    GraphQL is refused like x.com refuses it: without a valid `x-client-transaction-id` (404, empty
    body), with a query id that is not the operation's current one (404, empty body), or without a
    required feature switch (400, X error 336 naming them).

    Args:
        replay_dir: a fixtures folder (with `twscrape/` and `janitr_x_posts/`) to replay; None = generated.
        accounts: the accounts it accepts; default: the demo accounts file, all "ok".
        window_s: the rate-limit window in seconds.
        static_delay_s: latency of every image/video/font response.
        page_size: tweets per timeline page.
        site: the pages, scripts, query ids and required features (default: a fresh `XSite()`).
    """
    site = site or XSite()
    if accounts is None:
        accounts = [StandInAccount(a["username"], a["auth_token"], a["ct0"])
                    for a in json.loads(DEMO_ACCOUNTS_FILE.read_text(encoding="utf-8"))]
    by_token = {a.auth_token: a for a in accounts}
    limiter = _RateLimiter(window_s)
    posts = _janitr_posts(replay_dir) if replay_dir else []
    captures = replay_dir / "twscrape" if replay_dir else None
    stats = {"graphql": 0, "static": 0, "home": 0, "refused_transaction_id": 0, "refused_query_id": 0,
             "refused_features": 0}
    # Sizes like x.com's: a 48 px avatar, a ~600 px photo (decodable, so blocking also saves decoding),
    # the first megabyte of a video, a web font.
    avatar, photo = _png(48, 48, seed=1), _png(600, 340, seed=2)
    video, font = bytes(1_000_000), bytes(100_000)

    def authenticate(request: Request, operation: str) -> tuple[StandInAccount | None, Response | None, dict]:
        account = by_token.get(request.cookies.get("auth_token", ""))
        if not request.headers.get("authorization", "").startswith("Bearer "):
            return None, _error(401, 32, "Could not authenticate you."), {}
        if account is None or account.state == "expired":
            return None, _error(401, 32, "Could not authenticate you."), {}
        if request.cookies.get("ct0") != account.ct0 or request.headers.get("x-csrf-token") != account.ct0:
            return None, _error(403, 353, "This request requires a matching csrf cookie and header."), {}
        if account.state == "suspended":
            return None, _error(403, 64, "Your account is suspended and is not permitted to access this feature."), {}
        if account.state == "locked":
            return None, _error(403, 326, "To protect our users from spam and other malicious activity, "
                                          "this account is temporarily locked."), {}
        allowed, remaining, reset = limiter.hit(account.username, operation, account.rate_limit)
        headers = {"x-rate-limit-limit": str(account.rate_limit), "x-rate-limit-remaining": str(remaining),
                   "x-rate-limit-reset": str(reset)}
        if not allowed:
            return None, _error(429, 88, "Rate limit exceeded.", headers), headers
        return account, None, headers

    def timeline_page(entries: list[dict], scope: str, offset: int) -> list[dict]:
        chunk = entries[offset:offset + page_size]
        # Page 1 adds its cursors as entries; later pages replace them, as x.com does.
        top, bottom = _cursor_entry("Top", _encode_cursor(scope, 0)), _cursor_entry(
            "Bottom", _encode_cursor(scope, offset + len(chunk)))
        if offset == 0:
            return [{"type": "TimelineClearCache"}, {"type": "TimelineAddEntries", "entries": chunk + [top, bottom]}]
        return [{"type": "TimelineAddEntries", "entries": chunk},
                {"type": "TimelineReplaceEntry", "entry_id_to_replace": top["entryId"], "entry": top},
                {"type": "TimelineReplaceEntry", "entry_id_to_replace": bottom["entryId"], "entry": bottom}]

    def search(variables: dict) -> dict:
        raw_query = str(variables.get("rawQuery") or "")
        base, first, end, author = _parse_search(raw_query)
        entries = []
        day = end - timedelta(days=1)
        while day >= first and len(entries) < 5_000:
            entries += replayed_day(posts, base, day, author) if posts else generated_day(base, day, author)
            day -= timedelta(days=1)
        instructions = timeline_page(entries, raw_query, _decode_cursor(variables.get("cursor")))
        return {"data": {"search_by_raw_query": {"search_timeline": {"timeline": {"instructions": instructions}}}}}

    def user_by_screen_name(variables: dict) -> dict:
        handle = str(variables.get("screen_name") or "")
        if handle.lower() in site.missing_handles:
            return {"data": {"user": {}}}  # x.com's answer for a handle nobody has
        user = next((u for u in _PROJECTS + _PEOPLE + _SCAMMERS if u.handle.lower() == handle.lower()),
                    _User(handle, handle, 5_000, datetime(2020, 1, 1, tzinfo=UTC)))
        return {"data": {"user": {"result": _user_result(user)}}}

    def user_tweets(variables: dict) -> dict:
        user_id = str(variables.get("userId") or "")
        user = next((u for u in _PROJECTS + _PEOPLE + _SCAMMERS if u.id == user_id), None)
        handle = user.handle if user else f"user{user_id[-6:]}"
        today = datetime.now(UTC).date()
        entries = []
        for back in range(3):
            entries += generated_day(f"from:{handle}", today - timedelta(days=back), handle)
        instructions = timeline_page(entries, f"user:{user_id}", _decode_cursor(variables.get("cursor")))
        if not variables.get("cursor") and entries:
            pinned = json.loads(json.dumps(entries[-1]))
            instructions.insert(1, {"type": "TimelinePinEntry", "entry": pinned})
        return {"data": {"user": {"result": {"__typename": "User", "timeline": {"timeline": {
            "instructions": instructions}}}}}}

    def replay(operation: str, variables: dict) -> Response:
        path = captures / REPLAY_FILES.get(operation, "-") if captures else None
        if path is None or not path.exists():
            return _error(404, 34, f"Sorry, that page does not exist ({operation} has no capture).")
        if variables.get("cursor"):  # captures hold first pages only: page 2 is an end-of-timeline page
            cursor = str(variables["cursor"])
            return JSONResponse({"data": {"user": {"result": {"__typename": "User", "timeline": {"timeline": {
                "instructions": [{"type": "TimelineAddEntries", "entries": [_cursor_entry("Bottom", cursor)]}]}}}}}})
        return Response(path.read_bytes(), media_type="application/json")

    async def graphql(request: Request) -> Response:
        operation = request.path_params["operation"]
        stats["graphql"] += 1
        if not site.verify(request.headers.get("x-client-transaction-id"), request.method, request.url.path):
            stats["refused_transaction_id"] += 1
            return Response(status_code=404)  # x.com: 404 with an empty body
        if site.query_ids.get(operation) != request.path_params["query_id"]:
            stats["refused_query_id"] += 1
            return Response(status_code=404)
        account, failure, headers = authenticate(request, operation)
        if failure is not None:
            return failure
        try:
            variables = json.loads(request.query_params.get("variables") or "{}")
            features = json.loads(request.query_params.get("features") or "{}")
        except ValueError:
            return _error(400, 214, "variables is not valid JSON")
        missing = sorted(n for n in site.required_features if not isinstance(features, dict) or features.get(n) is None)
        if missing:
            stats["refused_features"] += 1
            return _features_error(missing)
        if operation == "SearchTimeline" and (posts or not captures):
            payload = search(variables)
        elif captures is not None and operation in REPLAY_FILES:
            response = replay(operation, variables)
            response.headers.update(headers)
            return response
        elif operation == "UserByScreenName":
            payload = user_by_screen_name(variables)
        elif operation in ("UserTweets", "UserTweetsAndReplies"):
            payload = user_tweets(variables)
        else:
            return _error(404, 34, f"Sorry, that page does not exist ({operation}).")
        return JSONResponse(payload, headers=headers)

    def not_a_timeline(request: Request) -> Response | None:
        """What x.com shows instead of the page: a login wall for an unknown or expired session, the
        locked-account page, or its error view (`site.error_pages`)."""
        account = by_token.get(request.cookies.get("auth_token", ""))
        if account is None or account.state == "expired":
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(f"/i/flow/login?redirect_after_login={quote(target, safe='')}", status_code=302)
        if account.state == "locked":
            return RedirectResponse("/account/access", status_code=302)
        if site.error_pages:
            return HTMLResponse(_ERROR_PAGE)
        return None

    async def search_page(request: Request) -> Response:
        mode = {"op": "SearchTimeline", "query": request.query_params.get("q", "")}
        return not_a_timeline(request) or _page(f"{mode['query']} - Search", mode)

    async def profile_page(request: Request) -> Response:
        handle = request.path_params["screen_name"]
        return not_a_timeline(request) or _page(f"@{handle}", {"op": "UserTweets", "screen_name": handle})

    async def login_page(request: Request) -> HTMLResponse:
        return HTMLResponse(_LOGIN_PAGE)

    async def locked_page(request: Request) -> HTMLResponse:
        return HTMLResponse(_LOCKED_PAGE)

    def _page(title: str, mode: dict) -> HTMLResponse:
        return HTMLResponse(_PAGE.format(title=html.escape(title), bearer=BEARER_TOKEN,
                                         mode=json.dumps(mode).replace("</", "<\\/"), qids=json.dumps(site.query_ids),
                                         features=json.dumps(site.features()), key_bytes=json.dumps(site.key_bytes),
                                         animation_key=site.animation_key))

    async def static(request: Request) -> Response:
        stats["static"] += 1
        await asyncio.sleep(static_delay_s)
        path = request.url.path
        if path.startswith("/img/"):
            return Response(avatar if path.startswith("/img/avatar/") else photo, media_type="image/png")
        if path.startswith("/video/"):
            return Response(video, media_type="video/mp4")
        return Response(font, media_type="font/woff2")

    async def home(request: Request) -> HTMLResponse:
        stats["home"] += 1
        return HTMLResponse(site.home_html())

    async def client_web(request: Request) -> Response:
        name = request.path_params["name"]
        if name == f"ondemand.s.{site.ondemand_hash}a.js":
            return Response(site.ondemand_js(), media_type="application/javascript")
        if name == f"main.{site.main_hash}.js":
            return Response(site.main_js(), media_type="application/javascript")
        return Response(status_code=404)

    app = Starlette(routes=[
        Route("/", home),
        Route("/home", home),
        Route("/responsive-web/client-web/{name}", client_web),
        Route("/i/api/graphql/{query_id}/{operation}", graphql),
        Route("/search", search_page),
        Route("/i/flow/login", login_page),
        Route("/account/access", locked_page),
        Route("/img/{path:path}", static),
        Route("/video/{path:path}", static),
        Route("/fonts/{path:path}", static),
        Route("/{screen_name}", profile_page),
    ])
    app.state.stats = stats
    app.state.site = site
    return app
