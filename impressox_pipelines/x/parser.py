"""One parser for X web GraphQL timeline responses → `Tweet` records (after twscrape's walk-once design).

Operations: UserTweets, UserTweetsAndReplies, UserMedia, SearchTimeline, TweetDetail,
ListLatestTweetsTimeline, CommunityTweetsTimeline (and any response carrying tweets in the same shapes).

The payload is walked ONCE, depth first in document order. Every object whose `__typename` is `Tweet`
(or the `.tweet` inside a `TweetWithVisibilityResults`) is collected by `rest_id`, wherever it sits:
timeline items, the `TimelinePinEntry`, modules (conversation threads, profile grids), and the originals
nested in `legacy.retweeted_status_result` and `quoted_status_result`. Records are built afterwards, so a
retweet takes its full text from its original and every id is emitted once.

Rules (layouts documented in ../shared/fixtures/twscrape/X_GRAPHQL_STRUCTURE.md):
- `text` is `note_tweet.note_tweet_results.result.text` for long posts (sent raw by X), else
  `legacy.full_text` (sent HTML-escaped: `&amp;`, `&lt;`, `&gt;`), unescaped exactly once. A retweet's
  text, entities and media are its original's; its view count falls back to the original's.
- Authors in both layouts: 2026 `user.core.{screen_name,name,created_at}` with `relationship_counts`, and
  2023–2025 `user.legacy.*`. Tweets whose fields moved out of `legacy` (`legacy: null`) are read top-level.
- `TweetTombstone`, `TweetUnavailable`, `TimelineTombstone`, empty `tweet_results` and bare
  `{__typename, rest_id}` references are skipped with a benign reason; an unknown `__typename` where a
  tweet belongs, or a tweet missing a required field, is skipped with a failure reason. Nothing raises.
- Cursors: `Top`, `Bottom` (entries or TweetDetail's `itemContent`, last one wins, so a
  `TimelineReplaceEntry` updates it) and `ShowMore` / `ShowMoreThreads` (all, in order).
"""

from __future__ import annotations

import html
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

from impressox_pipelines.x.models import Media, Tweet

OPERATIONS = (
    "UserTweets",
    "UserTweetsAndReplies",
    "UserMedia",
    "SearchTimeline",
    "TweetDetail",
    "ListLatestTweetsTimeline",
    "CommunityTweetsTimeline",
)

# Skip reasons that mean "the data is fine, there is just no tweet here"; every other reason is a failure.
BENIGN_REASONS = frozenset({"tombstone", "unavailable", "empty_result", "reference_only"})

_SURROGATE = re.compile("[\ud800-\udfff]")
_NESTED_KEYS = ("retweeted_status_result", "quoted_status_result", "quotedRefResult")
_UNAVAILABLE_TYPENAMES = frozenset({"TweetTombstone", "TweetUnavailable"})
_TWEET_TYPENAMES = frozenset({"Tweet", "TweetWithVisibilityResults", "TweetTombstone", "TweetUnavailable"})
_MONTHS = {m: i for i, m in enumerate(("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct",
                                       "Nov", "Dec"), start=1)}


@dataclass
class ParseResult:
    """What one GraphQL response yielded.

    `skipped` maps a reason (e.g. "tombstone", "unknown_typename:TweetFoo", "missing_field:created_at")
    to how many tweet positions it covered; `failure` is set when the response as a whole was unusable
    (truncated JSON, an HTML page, GraphQL `errors` without `data`, no timeline where one belongs).
    """

    operation: str | None
    tweets: list[Tweet] = field(default_factory=list)
    top_cursor: str | None = None
    bottom_cursor: str | None = None
    show_more_cursors: list[str] = field(default_factory=list)
    skipped: Counter = field(default_factory=Counter)
    errors: list[dict[str, Any]] = field(default_factory=list)  # GraphQL `errors[]` (code, message)
    failure: str | None = None

    @property
    def failure_count(self) -> int:
        """Tweet positions skipped for a failure reason, plus one when the whole response failed."""
        bad = sum(n for reason, n in self.skipped.items() if reason not in BENIGN_REASONS)
        return bad + (1 if self.failure else 0)


def parse_body(body: bytes | str, operation: str | None = None, *, scraped_at: datetime | None = None
               ) -> ParseResult:
    """Decode and parse one response body (bytes or text as received).

    Never raises for bad input: a body that is not JSON gives `failure` "html_page" (an HTML error or
    login page), "empty_body" or "truncated_json: <decoder message>"; JSON that is not an X GraphQL
    response gives "not_a_json_object: <type>" or "not_graphql: …".
    """
    stripped = body.lstrip()[:1] if body else b""
    if not stripped:
        return ParseResult(operation, failure="empty_body")
    if stripped in (b"<", "<"):
        return ParseResult(operation, failure="html_page")
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        if "surrogate" not in str(exc):
            return ParseResult(operation, failure=f"truncated_json: {str(exc)[:120]}")
        payload = _decode_with_lone_surrogates(body)
        if payload is None:
            return ParseResult(operation, failure=f"truncated_json: {str(exc)[:120]}")
    return parse_payload(payload, operation, scraped_at=scraped_at)


def _decode_with_lone_surrogates(body: bytes | str) -> Any:
    """Decode JSON holding an unpaired `\\ud83d`-style escape (orjson refuses it, as RFC 8259 allows);
    each lone surrogate becomes U+FFFD in its string. None when the body is broken for another reason.

    The stdlib decoder accepts lone surrogates (it keeps them as code points); one walk then replaces
    them. Only bodies orjson refused take this slower path.
    """
    try:
        payload = json.loads(body)
    except ValueError:
        return None
    return _replace_surrogates(payload)


def _replace_surrogates(node: Any) -> Any:
    if type(node) is str:
        # Valid pairs were already joined by the decoder, so any surrogate left here is unpaired.
        return _SURROGATE.sub("\ufffd", node)
    if type(node) is list:
        return [_replace_surrogates(item) for item in node]
    if type(node) is dict:
        return {_replace_surrogates(k): _replace_surrogates(v) for k, v in node.items()}
    return node


def parse_payload(payload: Any, operation: str | None = None, *, scraped_at: datetime | None = None
                  ) -> ParseResult:
    """Parse a decoded GraphQL response (or a single timeline entry) into tweets, cursors and skips.

    Args:
        payload: the decoded JSON (`{"data": …}`, `{"errors": […]}`, or an entry fragment).
        operation: the GraphQL operation name from the request URL; guessed from the payload when None
            (the UserTweets family cannot be told apart by shape and stays None).
        scraped_at: stamped on every record (UTC); defaults to now.
    """
    if operation is None:
        operation = guess_operation(payload)
    result = ParseResult(operation)
    if not isinstance(payload, dict):
        result.failure = f"not_a_json_object: {type(payload).__name__}"
        return result
    errors = payload.get("errors")
    if isinstance(errors, list):
        result.errors = [e for e in errors if isinstance(e, dict)]
    data = payload.get("data")
    if ("data" in payload and not isinstance(data, dict)) or (not data and result.errors):
        first = result.errors[0] if result.errors else {}
        result.failure = (f"graphql_error: code {first.get('code')} {str(first.get('message'))[:120]}"
                          if first else "no_data: `data` is not an object")
        return result
    walker = _Walker(result)
    walker.visit(payload)
    if isinstance(data, dict) and operation in OPERATIONS and not walker.saw_instructions:
        result.failure = "no_timeline: no `instructions` at any known path (layout changed?)"
    elif "data" not in payload and not walker.tweets and not walker.references and not walker.saw_instructions \
            and result.top_cursor is None and result.bottom_cursor is None:
        # An entry fragment has a tweet or a cursor; anything else is not an X GraphQL response at all.
        result.failure = "not_graphql: no `data`, `errors`, tweet or timeline entry in the object"
    stamp = scraped_at or datetime.now(UTC)
    authors: dict[str, tuple] = {}
    for tid, obj in walker.tweets.items():
        try:
            tweet = _build(obj, walker.tweets, operation, stamp, authors)
        except _Missing as exc:
            result.skipped[f"missing_field:{exc.args[0]}"] += 1
            continue
        except (AttributeError, TypeError, KeyError, ValueError) as exc:  # a field of an unexpected type
            result.skipped[f"malformed_tweet:{type(exc).__name__}"] += 1
            continue
        tweet.is_pinned = tid in walker.pinned
        tweet.is_promoted = tid in walker.promoted
        result.tweets.append(tweet)
    unresolved = len(walker.references.keys() - walker.tweets.keys())
    if unresolved:
        result.skipped["reference_only"] += unresolved
    return result


def guess_operation(payload: Any) -> str | None:
    """The operation a response belongs to, from its root path (None when ambiguous or unknown)."""
    data = payload.get("data") if isinstance(payload, dict) else None
    if not isinstance(data, dict):
        return None
    if "search_by_raw_query" in data:
        return "SearchTimeline"
    if "threaded_conversation_with_injections_v2" in data:
        return "TweetDetail"
    if "tweets_timeline" in (data.get("list") or {}):
        return "ListLatestTweetsTimeline"
    community = (data.get("communityResults") or {}).get("result") or {}
    if any(key.endswith("timeline") for key in community):
        return "CommunityTweetsTimeline"
    return None


def operation_from_url(url: str) -> str | None:
    """`SearchTimeline` from `…/i/api/graphql/<queryId>/SearchTimeline?variables=…`, else None."""
    path = url.split("?", 1)[0]
    marker = "/i/api/graphql/"
    if marker not in path:
        return None
    parts = path.split(marker, 1)[1].split("/")
    return parts[1] if len(parts) >= 2 and parts[1] else None


class _NotCounted(dict):
    """A skip counter that forgets every count (see `_Walker.tweet_position`)."""

    def __missing__(self, key: str) -> int:
        return 0

    def __setitem__(self, key: str, value: int) -> None:
        pass


_NOT_COUNTED = _NotCounted()


class _Missing(Exception):
    """A required field is absent; the argument names it."""


class _Walker:
    """One depth-first pass collecting tweet objects by id, flags, cursors and skip reasons."""

    def __init__(self, result: ParseResult):
        self.result = result
        self.tweets: dict[str, dict] = {}
        self.references: dict[str, None] = {}
        self.pinned: set[str] = set()
        self.promoted: set[str] = set()
        self.saw_instructions = False

    def visit(self, node: Any) -> None:
        if type(node) is list:
            for item in node:
                if type(item) is dict or type(item) is list:
                    self.visit(item)
            return
        typename = node.get("__typename")
        if typename is not None:
            if typename in _TWEET_TYPENAMES:
                self.tweet_position(node)
                return
            if typename == "TimelineTweet":
                self.timeline_tweet(node)
                return
            if typename == "TimelineTimelineCursor":
                self.cursor(node)
                return
            if typename == "TimelineTombstone":
                self.result.skipped["tombstone"] += 1
                return
            if typename == "User" and "timeline" not in node and "timeline_v2" not in node:
                return  # authors and who-to-follow users carry no tweets; profile timelines do
        if "instructions" in node:
            self.saw_instructions = True
        if node.get("type") == "TimelinePinEntry":
            self.pin_entry(node)
        for value in node.values():
            if type(value) is dict or type(value) is list:
                self.visit(value)

    def timeline_tweet(self, item: dict) -> None:
        """`itemContent` of a TimelineTweet: the tweet is at `tweet_results.result`."""
        res = (item.get("tweet_results") or {}).get("result")
        if not res:
            self.result.skipped["empty_result"] += 1
            return
        tid = self.tweet_position(res)
        if tid is not None and item.get("promotedMetadata"):
            self.promoted.add(tid)

    def tweet_position(self, obj: Any, count: bool = True) -> str | None:
        """Handle whatever sits where a tweet belongs; returns the tweet id when it was a tweet.

        `count=False` (the nested tweets of a repeated copy) records tweets and references without
        counting skip reasons again for positions already counted under the first copy.
        """
        skipped = self.result.skipped if count else _NOT_COUNTED
        if not isinstance(obj, dict) or not obj:
            skipped["empty_result"] += 1
            return None
        typename = obj.get("__typename")
        if typename == "TweetWithVisibilityResults":
            obj = obj.get("tweet")
            if not isinstance(obj, dict):
                skipped["missing_field:TweetWithVisibilityResults.tweet"] += 1
                return None
        elif typename == "TweetTombstone":
            skipped["tombstone"] += 1
            return None
        elif typename == "TweetUnavailable":
            skipped["unavailable"] += 1
            return None
        elif typename != "Tweet":
            skipped[f"unknown_typename:{typename}"] += 1
            return None
        tid = obj.get("rest_id")
        if not isinstance(tid, str) or not tid:
            skipped["missing_field:rest_id"] += 1
            return None
        fields = obj.get("legacy") or obj
        if "core" not in obj and "full_text" not in fields:
            # `quotedRefResult` and similar stubs: `{__typename, rest_id}` pointing at a tweet elsewhere.
            self.references[tid] = None
            return tid
        first = tid not in self.tweets
        if first:
            self.tweets[tid] = obj
        # Every copy's nested tweets are visited, not only the first copy's: the first may quote by a
        # bare reference (`quotedRefResult`) while a later copy (inside a retweet, in another module)
        # carries the quoted tweet in full.
        for key in _NESTED_KEYS:
            nested = fields.get(key) or obj.get(key)
            if nested is not None:
                self.tweet_position(nested.get("result") if isinstance(nested, dict) else None, count and first)
        return tid

    def cursor(self, node: dict) -> None:
        kind, value = node.get("cursorType"), node.get("value")
        if not isinstance(value, str):
            return
        if kind == "Top":
            self.result.top_cursor = value
        elif kind == "Bottom":
            self.result.bottom_cursor = value
        elif kind in ("ShowMore", "ShowMoreThreads"):
            self.result.show_more_cursors.append(value)

    def pin_entry(self, instruction: dict) -> None:
        content = ((instruction.get("entry") or {}).get("content") or {})
        res = ((content.get("itemContent") or {}).get("tweet_results") or {}).get("result")
        if isinstance(res, dict):
            inner = res.get("tweet") if res.get("__typename") == "TweetWithVisibilityResults" else res
            if isinstance(inner, dict) and isinstance(inner.get("rest_id"), str):
                self.pinned.add(inner["rest_id"])


def _unwrap(res: Any) -> dict | None:
    if not isinstance(res, dict):
        return None
    if res.get("__typename") == "TweetWithVisibilityResults":
        res = res.get("tweet")
    return res if isinstance(res, dict) and res.get("rest_id") else None


def _x_time(value: Any, what: str) -> datetime:
    """X's `"Fri Jul 31 21:34:08 +0000 2026"` → aware UTC datetime (fast path for `+0000`)."""
    if not isinstance(value, str):
        raise _Missing(what)
    try:
        if value[20:25] == "+0000" and len(value) == 30:
            return datetime(int(value[26:30]), _MONTHS[value[4:7]], int(value[8:10]), int(value[11:13]),
                            int(value[14:16]), int(value[17:19]), tzinfo=UTC)
        return datetime.strptime(value, "%a %b %d %H:%M:%S %z %Y").astimezone(UTC)
    except (KeyError, ValueError):
        raise _Missing(what) from None


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _views(obj: dict) -> int | None:
    count = (obj.get("views") or {}).get("count")
    try:
        return int(count) if count is not None else None
    except (TypeError, ValueError):
        return None


def _values(items: Any, key: str) -> list[str]:
    """`items[i][key]` for each entity object that has one, without repeats, in order."""
    if not items:
        return []
    return list(dict.fromkeys(v for item in items if (v := item.get(key))))


def _author(obj: dict, fields: dict, known: dict[str, tuple]) -> tuple[str, str, str, int | None, datetime | None,
                                                                       bool]:
    user = ((obj.get("core") or {}).get("user_results") or {}).get("result")
    if not isinstance(user, dict) or user.get("__typename") not in (None, "User"):
        raise _Missing("author")
    # One response repeats the same author in every tweet of theirs: read each author once.
    user_id = user.get("rest_id")
    if user_id in known:
        return known[user_id]
    author = _read_author(user, fields)
    if user_id:
        known[user_id] = author
    return author


def _read_author(user: dict, fields: dict) -> tuple[str, str, str, int | None, datetime | None, bool]:
    legacy = user.get("legacy") or {}
    core = user.get("core") or {}
    handle = core.get("screen_name") or legacy.get("screen_name")
    author_id = user.get("rest_id") or fields.get("user_id_str")
    if not handle or not author_id:
        raise _Missing("author.screen_name")
    followers = (user.get("relationship_counts") or {}).get("followers")
    if followers is None:
        followers = legacy.get("followers_count")
    created = core.get("created_at") or legacy.get("created_at")
    verification = user.get("verification") or {}
    # "verified" = the legacy check or an organisation badge; the paid blue check is not verification.
    verified = bool(verification.get("verified") or legacy.get("verified")
                    or verification.get("verified_type") or legacy.get("verified_type"))
    return (
        str(author_id),
        handle,
        core.get("name") or legacy.get("name") or handle,
        followers if isinstance(followers, int) else None,
        _x_time(created, "author.created_at") if created else None,
        verified,
    )


def _content(obj: dict, fields: dict) -> tuple[str, dict]:
    """(full text, entities) of one tweet object: the note_tweet when present, else legacy."""
    note = (((obj.get("note_tweet") or {}).get("note_tweet_results") or {}).get("result") or {})
    text = note.get("text")
    if isinstance(text, str):
        return text, note.get("entity_set") or fields.get("entities") or {}
    full = fields.get("full_text")
    if not isinstance(full, str):
        raise _Missing("full_text")
    return (html.unescape(full) if "&" in full else full), fields.get("entities") or {}


def _media(fields: dict) -> list[Media]:
    extended = fields.get("extended_entities")
    items = (extended.get("media") if extended else None) or (fields.get("entities") or {}).get("media")
    if not items:
        return []
    out = []
    for m in items or ():
        if not isinstance(m, dict) or not m.get("media_url_https"):
            continue
        video_url = None
        variants = [v for v in (m.get("video_info") or {}).get("variants") or ()
                    if v.get("content_type") == "video/mp4" and v.get("url")]
        if variants:
            video_url = max(variants, key=lambda v: v.get("bitrate") or 0)["url"]
        out.append(Media(type=m.get("type") or "photo", url=m["media_url_https"],
                         expanded_url=m.get("expanded_url"), video_url=video_url))
    return out


def _build(obj: dict, tweets: dict[str, dict], operation: str | None, scraped_at: datetime,
           authors: dict[str, tuple]) -> Tweet:
    fields = obj.get("legacy") or obj
    tid = obj["rest_id"]
    author_id, handle, name, followers, author_created, verified = _author(obj, fields, authors)
    retweeted = _unwrap((fields.get("retweeted_status_result") or {}).get("result"))
    retweeted_id = (retweeted or {}).get("rest_id") or fields.get("retweeted_status_id_str")
    source_obj = tweets.get(retweeted_id) if retweeted_id else None
    if source_obj is not None:
        source_fields = source_obj.get("legacy") or source_obj
        text, entities = _content(source_obj, source_fields)
    else:
        source_fields = fields
        text, entities = _content(obj, fields)
    quoted_raw = (obj.get("quoted_status_result") or fields.get("quoted_status_result") or {}).get("result")
    quoted = _unwrap(quoted_raw)
    quoted_unavailable = isinstance(quoted_raw, dict) and quoted_raw.get("__typename") in _UNAVAILABLE_TYPENAMES
    reference = (obj.get("quotedRefResult") or {}).get("result")
    quoted_id = ((quoted or {}).get("rest_id") or (reference.get("rest_id") if isinstance(reference, dict) else None)
                 or (fields.get("quoted_status_id_str") if fields.get("is_quote_status") else None))
    views = _views(obj)
    if views is None and source_obj is not None:
        views = _views(source_obj)
    urls = entities.get("urls") or ()
    return Tweet(
        id=tid,
        author_id=author_id,
        author_handle=handle,
        author_name=name,
        created_at=_x_time(fields.get("created_at"), "created_at"),
        text=text,
        lang=fields.get("lang"),
        conversation_id=fields.get("conversation_id_str"),
        in_reply_to_id=fields.get("in_reply_to_status_id_str"),
        retweeted_id=retweeted_id,
        quoted_id=quoted_id,
        quoted_unavailable=quoted_unavailable,
        hashtags=_values(entities.get("hashtags"), "text"),
        cashtags=_values(entities.get("symbols"), "text"),
        mentions=_values(entities.get("user_mentions"), "screen_name"),
        urls=list(dict.fromkeys(v for u in urls if (v := u.get("expanded_url") or u.get("url")))) if urls else [],
        media=_media(source_fields),
        like_count=_int(fields.get("favorite_count")),
        retweet_count=_int(fields.get("retweet_count")),
        reply_count=_int(fields.get("reply_count")),
        quote_count=_int(fields.get("quote_count")),
        bookmark_count=_int(fields.get("bookmark_count")),
        view_count=views,
        author_followers_count=followers,
        author_created_at=author_created,
        author_verified=verified,
        source_operation=operation,
        scraped_at=scraped_at,
    )
