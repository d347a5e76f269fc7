"""X web GraphQL requests: operation query ids, request parameters, headers and search date bounds.

The query ids are the ones x.com's web app used when the twscrape captures were taken
(`../shared/fixtures/twscrape/__meta.json`); X rotates them, so callers may override them. The bearer
token is the public one embedded in x.com's JavaScript bundle (every logged-out visitor sends it); the
account is identified by the `auth_token` cookie and `ct0`, which must also be sent as `x-csrf-token`.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from urllib.parse import quote

BEARER_TOKEN = (
    "AAAAAAAAAAAAAAAAAAAAANRILgAAAAAAnNwIzUejRCOuH5E6I8xnZz4puTs%3D1Zv7ttfk8LF81IUq16cHjhLTvJu4FA33AGWWjCpTnA"
)

QUERY_IDS: dict[str, str] = {
    "SearchTimeline": "BGd0T_j7oVwlW5U79tO_0A",
    "UserTweets": "eoJ5zbv51Z_KVl81v9PmLQ",
    "UserTweetsAndReplies": "wc5DRl4VaW5lSqJ8YbftZQ",
    "UserMedia": "2DC9TKrcUzwGC_QskSVl5w",
    "TweetDetail": "559hs_YZNV4IgA3Z6zIIuw",
    "ListLatestTweetsTimeline": "jW040BLUjh8X6Tw2ODQufA",
    "CommunityTweetsTimeline": "dD1uF9vQx0OX-e1rKA4YLw",
    "UserByScreenName": "Gb-d6r0vxPOADdG62OEBpQ",
}

# The feature switches the web app sends; X answers 400 when a required one is missing.
FEATURES: dict[str, bool] = {
    "rweb_video_screen_enabled": False,
    "responsive_web_graphql_exclude_directive_enabled": True,
    "verified_phone_label_enabled": False,
    "creator_subscriptions_tweet_preview_api_enabled": True,
    "responsive_web_graphql_timeline_navigation_enabled": True,
    "responsive_web_graphql_skip_user_profile_image_extensions_enabled": False,
    "communities_web_enable_tweet_community_results_fetch": True,
    "c9s_tweet_anatomy_moderator_badge_enabled": True,
    "articles_preview_enabled": True,
    "tweetypie_unmention_optimization_enabled": True,
    "responsive_web_edit_tweet_api_enabled": True,
    "graphql_is_translatable_rweb_tweet_is_translatable_enabled": True,
    "view_counts_everywhere_api_enabled": True,
    "longform_notetweets_consumption_enabled": True,
    "responsive_web_twitter_article_tweet_consumption_enabled": True,
    "tweet_awards_web_tipping_enabled": False,
    "freedom_of_speech_not_reach_fetch_enabled": True,
    "standardized_nudges_misinfo": True,
    "tweet_with_visibility_results_prefer_gql_limited_actions_policy_enabled": True,
    "longform_notetweets_rich_text_read_enabled": True,
    "longform_notetweets_inline_media_enabled": True,
    "responsive_web_enhance_cards_enabled": False,
}


def graphql_path(operation: str, query_id: str | None = None) -> str:
    """`/i/api/graphql/<queryId>/<Operation>` (the path x.com's web app requests)."""
    return f"/i/api/graphql/{query_id or QUERY_IDS[operation]}/{operation}"


def request_params(variables: dict, features: dict[str, bool] | None = None) -> dict[str, str]:
    """Query-string parameters: `variables` and `features` (default: the shipped `FEATURES`) as compact
    JSON, as the web app sends them."""
    return {
        "variables": json.dumps(variables, separators=(",", ":")),
        "features": json.dumps(FEATURES if features is None else features, separators=(",", ":")),
    }


def search_variables(raw_query: str, cursor: str | None = None, count: int = 20) -> dict:
    """SearchTimeline variables for the "Latest" tab (newest first, what `f=live` shows)."""
    variables = {"rawQuery": raw_query, "count": count, "querySource": "typed_query", "product": "Latest"}
    if cursor:
        variables["cursor"] = cursor
    return variables


def day_query(base: str, day: date) -> str:
    """`<base> since:YYYY-MM-DD until:YYYY-MM-DD` covering one UTC day (`until:` is exclusive)."""
    return f"{base} since:{day.isoformat()} until:{(day + timedelta(days=1)).isoformat()}"


def search_page_path(raw_query: str) -> str:
    """The web app's search page for the Latest tab: `/search?q=…&src=typed_query&f=live`."""
    return f"/search?q={quote(raw_query, safe='')}&src=typed_query&f=live"


def auth_headers(ct0: str) -> dict[str, str]:
    """Headers every logged-in GraphQL call carries besides the cookies."""
    return {
        "authorization": f"Bearer {BEARER_TOKEN}",
        "x-csrf-token": ct0,
        "x-twitter-auth-type": "OAuth2Session",
        "x-twitter-active-user": "yes",
        "content-type": "application/json",
    }
