"""The parser against every real capture in ../shared/fixtures/twscrape, read in place.

Expected values were established by reading the JSON files directly (paths noted per case), not by
running the parser.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from impressox_pipelines.x.parser import parse_body
from tests.helpers.paths import fixtures_root, require_fixture


def parse(*parts: str):
    return parse_body(require_fixture("twscrape", *parts).read_bytes())


def by_id(result):
    return {t.id: t for t in result.tweets}


# file → (distinct full tweet objects, Top cursor?, Bottom cursor?, ShowMore/ShowMoreThreads cursors,
#         bare {__typename, rest_id} references whose tweet the payload does not include)
CAPTURES = {
    "_issue_28_1.json": (4, False, False, 0, 0),
    "_issue_28_2.json": (4, False, False, 0, 0),
    "_issue_42.json": (2, False, False, 0, 0),
    "_issue_42_regr.json": (3, False, False, 0, 0),
    "_issue_56.json": (11, False, True, 3, 0),
    "card_audiospace.json": (2, False, False, 0, 0),
    "card_broadcast.json": (4, False, False, 1, 0),
    "card_summary.json": (5, False, False, 1, 0),
    "manual_tweet_with_video_1.json": (11, False, True, 0, 0),
    "raw_community_tweets.json": (24, True, True, 0, 0),
    "raw_search.json": (25, True, True, 0, 1),
    "raw_tweet_details.json": (37, False, True, 0, 0),
    "raw_tweet_replies.json": (37, False, True, 0, 0),
    "raw_tweet_thread.json": (37, False, True, 0, 0),
    "raw_user_media.json": (37, True, True, 0, 0),
    "raw_user_tweets.json": (41, True, True, 0, 2),
    "raw_user_tweets_and_replies.json": (39, True, True, 0, 2),
    "legacy_2025-03/raw_user_tweets.json": (35, True, True, 0, 0),
    "legacy_2025-03/raw_user_tweets_and_replies.json": (33, True, True, 0, 0),
}
NO_TWEETS = ["raw_followers.json", "raw_following.json", "raw_verified_followers.json", "raw_subscriptions.json",
             "raw_retweeters.json", "raw_list_members.json", "raw_community_members.json",
             "raw_community_moderators.json", "raw_user_by_login.json", "raw_user_about.json",
             "raw_community_info.json", "raw_trends.json", "legacy_2025-03/raw_user_by_id.json",
             "legacy_2025-03/raw_user_by_login.json"]


@pytest.mark.parametrize("name", sorted(CAPTURES))
def test_every_tweet_capture_yields_each_distinct_tweet_once_with_its_cursors(name):
    tweets, top, bottom, show_more, references = CAPTURES[name]
    result = parse(*name.split("/"))
    assert result.failure is None
    assert len(result.tweets) == tweets
    assert len({t.id for t in result.tweets}) == tweets
    assert (result.top_cursor is not None, result.bottom_cursor is not None) == (top, bottom)
    assert len(result.show_more_cursors) == show_more
    assert result.skipped["reference_only"] == references
    assert result.failure_count == 0
    for tweet in result.tweets:
        assert tweet.created_at.tzinfo is not None and tweet.author_handle and tweet.text is not None


@pytest.mark.parametrize("name", NO_TWEETS)
def test_user_lists_and_profiles_yield_no_tweets_and_no_failures(name):
    result = parse(*name.split("/"))
    assert result.tweets == []
    assert result.failure_count == 0 or result.failure is None


def test_the_capture_inventory_agrees_for_every_capture_present():
    """`_inventory.json` (the collector's scan) counts distinct rest_ids of `Tweet`-typed objects,
    stubs included. Files it lists but this folder lacks are checked when they are present."""
    inventory = json.loads(require_fixture("twscrape", "_inventory.json").read_text())
    checked = 0
    for name, facts in inventory.items():
        path = fixtures_root() / "twscrape" / name
        if not path.exists() or not facts["tweet_typenames"]:
            continue
        result = parse_body(path.read_bytes())
        emitted = len(result.tweets) + result.skipped["reference_only"]
        # The inner tweet of a TweetWithVisibilityResults has no __typename, so the scan may miss it.
        wrapped = facts["tweet_typenames"].get("TweetWithVisibilityResults", 0)
        assert facts["unique_tweet_ids"] <= emitted <= facts["unique_tweet_ids"] + wrapped, name
        assert result.failure_count == 0, name
        checked += 1
    assert checked >= len(CAPTURES)


def test_retweet_text_is_the_originals_full_text_not_the_truncated_rt_form():
    # raw_user_tweets.json entries[0]: @XDevelopers retweets @benjitaylor's 2083289084567724316.
    tweets = by_id(parse("raw_user_tweets.json"))
    retweet, original = tweets["2083305234688803178"], tweets["2083289084567724316"]
    expected = ("Overhauled the 𝕏 Developer Console with a fresh coat of paint. More improvements to come as we "
                "continue investing in our DX! https://t.co/7MkjBRWz9P")
    assert retweet.text == original.text == expected
    assert retweet.retweeted_id == "2083289084567724316"
    assert (retweet.author_handle, retweet.author_name) == ("XDevelopers", "Developers")
    assert retweet.author_id == "2244994945"
    assert (original.author_handle, original.author_name) == ("benjitaylor", "Benji Taylor")
    assert retweet.urls == original.urls == ["http://console.x.com"]
    assert (retweet.retweet_count, retweet.like_count, retweet.view_count) == (31, 0, 2062)
    assert (original.like_count, original.retweet_count, original.view_count) == (674, 31, 104358)
    assert retweet.created_at == datetime(2026, 7, 31, 21, 34, 8, tzinfo=UTC)
    assert retweet.author_followers_count == 695695
    assert retweet.author_verified  # verification.verified_type "Business"


def test_pinned_tweet_from_the_pin_entry_is_flagged():
    tweets = by_id(parse("raw_user_tweets.json"))
    pinned = [t for t in tweets.values() if t.is_pinned]
    assert [t.id for t in pinned] == ["2019881223666233717"]
    assert pinned[0].text.startswith("Officially launching X API Pay-Per-Use\n\nThe core of X developers are indie")
    assert (pinned[0].like_count, pinned[0].view_count) == (5569, 2525462)
    assert pinned[0].created_at == datetime(2026, 2, 6, 21, 9, 45, tzinfo=UTC)


def test_long_post_text_comes_from_note_tweet_raw_and_complete():
    # raw_search.json: note_tweet_results.result.text is 555 characters; legacy.full_text is cut.
    tweet = by_id(parse("raw_search.json"))["2074960554146267459"]
    assert len(tweet.text) == 555
    assert tweet.text.startswith("8 July 2026 Giga Texas VIDEO … 8 July 2026 Giga Texas Snapshots!")
    assert "foundation prep, & Optimus" in tweet.text  # note text is sent unescaped
    assert tweet.text.endswith("Link to 4K video below!")
    assert tweet.author_handle == "JoeTegtmeyer"
    assert (tweet.like_count, tweet.retweet_count, tweet.reply_count, tweet.quote_count, tweet.bookmark_count,
            tweet.view_count) == (185, 10, 4, 2, 3, 6854)
    assert tweet.source_operation == "SearchTimeline"


def test_note_tweet_links_are_expanded_from_its_entity_set():
    # _issue_56.json (2023 layout): 4 t.co links in the note text, only the first in legacy.entities.
    tweet = by_id(parse("_issue_56.json"))["1682072224013099008"]
    assert tweet.author_handle == "FortniteStatus"
    assert tweet.urls == ["http://fn.gg/support", "http://fn.gg/accounts",
                          "https://trello.com/b/Bs7hgkma/fortnite-community-issues", "https://status.epicgames.com"]
    assert tweet.text.endswith("Visit the Status page for server status: https://t.co/X55I5IuFkk")
    assert tweet.hashtags == ["Fortnite"] and tweet.mentions == ["FortniteStatus"]
    assert tweet.like_count == 3101


def test_html_entities_of_full_text_are_unescaped():
    # raw_community_tweets.json: legacy.full_text holds "-&gt;" and "&amp;".
    tweet = by_id(parse("raw_community_tweets.json"))["2085172559062995114"]
    assert tweet.text.startswith("#Mets RP Jefry Yan -> 22 Pitches \n\n9  pitches  ->  100  MPH")
    assert "&gt;" not in tweet.text and tweet.author_handle == "AngryMike24"
    assert "Mets" in tweet.hashtags


def test_retweet_view_count_falls_back_to_the_original():
    # _issue_28_1.json: the retweet's views are {"state": "Enabled"}; the original's count is "1110".
    tweets = by_id(parse("_issue_28_1.json"))
    assert tweets["1658409412799737856"].view_count == 1110
    assert tweets["1658409412799737856"].text.startswith("Esta noche el circo está asegurado 😂😂😂\nAyuso se presenta")
    assert tweets["1677037919880507392"].quoted_id == "1677035434214412289"


def test_video_media_keeps_the_highest_bitrate_mp4():
    tweets = by_id(parse("manual_tweet_with_video_1.json"))
    video = tweets["1671700833363447808"].media
    assert [m.type for m in video] == ["video"]
    assert video[0].url == ("https://pbs.twimg.com/ext_tw_video_thumb/1670817068445495296/pu/img/"
                            "2gy4ynHr-YNRJMAo.jpg")
    assert video[0].video_url == ("https://video.twimg.com/ext_tw_video/1670817068445495296/pu/vid/1080x1920/"
                                  "22YicpjoyeMTMZEj.mp4?tag=14")
    assert [m.type for m in tweets["1671885256914518017"].media] == ["photo"]


def test_2025_layout_timeline_v2_and_user_legacy():
    result = parse("legacy_2025-03", "raw_user_tweets.json")
    tweet = by_id(result)["1851463451929186504"]
    assert (tweet.author_handle, tweet.author_name, tweet.author_followers_count) == ("XDevelopers", "Developers",
                                                                                       700242)
    assert tweet.author_created_at == datetime(2013, 12, 14, 4, 35, 55, tzinfo=UTC)
    assert tweet.created_at == datetime(2024, 10, 30, 3, 17, 40, tzinfo=UTC)
    assert tweet.text.startswith("We are changing our Self Serve X API with new pricing options and limits.")
    assert sum(t.is_pinned for t in result.tweets) == 1


def test_single_timeline_entry_fragment_parses_retweet_and_original():
    tweets = by_id(parse("_issue_42.json"))
    assert set(tweets) == {"1665951747842641921", "1665863576060575744"}
    rt = tweets["1665951747842641921"]
    assert rt.retweeted_id == "1665863576060575744"
    assert rt.text == tweets["1665863576060575744"].text
    assert rt.text.endswith("signifying a busy farming period. https://t.co/SQMrX99bWr")
    assert not rt.text.startswith("RT @")
