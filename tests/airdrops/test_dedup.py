"""Dedup: retweets, quotes and reposts of one link are one opportunity listing every source tweet."""

from __future__ import annotations

from impressox_pipelines.airdrops.dedup import group
from tests.helpers.airdrops import tweet


def test_retweets_and_quotes_join_the_original(detector):
    original = tweet("The $JUP airdrop claim is live until Jan 31 at jup.ag/airdrop", author_handle="JupiterExchange")
    retweet = tweet("RT @JupiterExchange: The $JUP airdrop claim is live", retweeted_id=original.id)
    quote = tweet("Don't miss it", quoted_id=original.id)
    quote_of_quote = tweet("this airdrop 👇", quoted_id=quote.id)
    assessments = [detector.assess(original), detector.assess(retweet, original), detector.assess(quote, original),
                   detector.assess(quote_of_quote, quote)]
    [opp] = group(assessments)
    assert opp.source_tweet_ids == sorted({original.id, retweet.id, quote.id, quote_of_quote.id})
    assert opp.primary.tweet_id == original.id  # the official post scores highest
    assert not opp.scam_flag


def test_reposts_of_the_same_link_are_one_opportunity(detector):
    a = tweet("Zama airdrop eligibility checker https://claim.zama.ai/check?utm_source=x")
    b = tweet("zama airdrop claim: claim.zama.ai/check")
    c = tweet("unrelated airdrop", urls=["https://other.xyz/page"])
    opportunities = group([detector.assess(t) for t in (a, b, c)])
    assert sorted(len(o.sources) for o in opportunities) == [1, 2]


def test_links_to_the_tweet_count_as_quotes(detector):
    original = tweet("airdrop snapshot done")
    sharer = tweet(f"airdrop news https://x.com/someone/status/{original.id}")
    [opp] = group([detector.assess(original), detector.assess(sharer)])
    assert len(opp.sources) == 2


def test_bare_homepages_do_not_merge_unrelated_posts(detector):
    a = tweet("airdrop one at jup.ag")
    b = tweet("another airdrop at jup.ag")
    assert len(group([detector.assess(a), detector.assess(b)])) == 2


def test_a_scam_quoting_a_real_announcement_stays_apart(detector):
    original = tweet("The airdrop claim is live", author_handle="arbitrum")
    scam = tweet("Claim here fast, connect your wallet: arbitrum-claim.xyz", quoted_id=original.id)
    opportunities = group([detector.assess(original), detector.assess(scam, original)])
    assert [o.scam_flag for o in opportunities] == [False, True]
    assert opportunities[0].source_tweet_ids == [original.id]
    assert opportunities[1].scam_reasons


def test_opportunity_ids_are_stable_and_non_candidates_are_left_out(detector):
    a = tweet("airdrop claim at claim.example.org/x")
    b = tweet("nothing to see")
    first = group([detector.assess(a), detector.assess(b)])
    again = group([detector.assess(b), detector.assess(a)])
    assert [o.opportunity_id for o in first] == [o.opportunity_id for o in again]
    assert len(first) == 1


def test_results_at_the_score_cap_are_ranked_by_their_points_before_it(detector):
    """Two announcements both reach 100; the one with more points before the cap ranks first, and says so."""
    from impressox_pipelines.airdrops.report import markdown_table

    text = ("The $ARB airdrop claim is live for eligible wallets: snapshot taken, points season over, claim "
            "until March 23 at https://arbitrum.foundation/claim/{}")
    quiet = tweet(text.format("a"), author_handle="arbitrum", like_count=10)
    loud = tweet(text.format("b"), author_handle="arbitrum", like_count=500_000, retweet_count=90_000)
    ranked = group([detector.assess(quiet), detector.assess(loud)])
    assert [o.score for o in ranked] == [100, 100]
    assert ranked[0].primary.tweet_id == loud.id and ranked[0].uncapped_score > ranked[1].uncapped_score > 100
    assert ranked[0].to_document("2026-02-01")["uncapped_score"] == ranked[0].uncapped_score
    assert f"100/100 ({ranked[0].uncapped_score:g} points before the cap)" in markdown_table(ranked)
