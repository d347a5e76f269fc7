"""Lures found recurring among the scam posts that the other rules missed: income pitches that move to
DMs or a "VIP" group, large prizes for follows and retweets, and free mints on sites of no known brand.
Each is a soft tell that flags only with a second one; real giveaways, mints and chatter stay clean."""

from __future__ import annotations

import pytest

from tests.helpers.airdrops import signals, tweet


@pytest.mark.parametrize("text", [
    "Want passive income from your phone? Shoot me a DM and I'll show you how",
    "Our VIP group hit every target this week. DM me to join",
    "My system is making me $4k/month on autopilot. DM me 'START' for the details",
    "Free crypto signals with 85% accuracy, join us: t.me/+sigs_airdrop_club",
    "Earn daily profits from cloud mining. Details via DM",
])
def test_income_pitch_moved_to_a_private_chat_flags(detector, text):
    a = detector.assess(tweet(text))
    assert "income_pitch" in signals(a.scam_reasons)
    assert "off_platform_contact" in signals(a.scam_reasons)
    assert a.scam_flag


@pytest.mark.parametrize("text", [
    "BlackRock's new fund targets 5% returns for holders",
    "Staking APY sits at 4% right now, passive income for long-term holders",
    "Pro plan costs $20/month, airdrop tracker included",
    "Hit me up in DMs if you want to grab coffee at the conference",
])
def test_returns_or_a_dm_alone_do_not_flag(detector, text):
    assert not detector.assess(tweet(text)).scam_flag


def test_warning_about_income_pitches_is_not_one(detector):
    a = detector.assess(tweet("Never trust anyone promising passive income in DMs, it is always a scam"))
    assert "income_pitch" not in signals(a.scam_reasons)


@pytest.mark.parametrize("text", [
    "$25,000 giveaway! Follow @someone, like and retweet. Winners picked tomorrow",
    "Sending 2 $ETH to one lucky follower. Just like, retweet and comment 'in'",
    "Giving away $5K in USDC to celebrate. Follow + RT to enter",
])
def test_large_prize_for_follows_and_retweets_flags(detector, text):
    a = detector.assess(tweet(text))
    assert {"prize_for_engagement", "engagement_bait"} <= signals(a.scam_reasons)
    assert a.scam_flag


@pytest.mark.parametrize("text", [
    "$20 giveaway for the community: follow and retweet, winner Friday",
    "Sending 0.001 $ETH to 3 people who like and retweet this",
    "Hackathon with $100K in prizes, apply by March 3",
    "We are giving away $10,000 to builders this season, apply with your repo",
])
def test_small_prizes_and_prizes_without_engagement_bait_do_not_count(detector, text):
    a = detector.assess(tweet(text))
    assert "prize_for_engagement" not in signals(a.scam_reasons)
    assert not a.scam_flag


@pytest.mark.parametrize("text", [
    "FREE MINT on ETH, don't fade: pixelnerds.fun/mint",
    "Mint price: FREE. Grab yours at toonpals.xyz",
])
def test_free_mint_on_a_risky_unknown_site_flags(detector, text):
    a = detector.assess(tweet(text))
    assert {"free_mint_lure", "unofficial_claim_link"} <= signals(a.scam_reasons)
    assert a.scam_flag


@pytest.mark.parametrize("text", [
    "Free mint is live for holders! Mint at opensea.io/collection/pass",
    "Free mint for our community, join t.me/pixelnerds for the date",
    "Free mint next week, no link yet, stay tuned",
    "Beware of free mint links in replies, they are drainers: pixelnerds.fun/mint",
])
def test_free_mint_on_a_known_platform_a_chat_or_without_a_link_is_no_lure(detector, text):
    assert "free_mint_lure" not in signals(detector.assess(tweet(text)).scam_reasons)


def test_free_mint_from_a_target_account_is_no_lure(detector):
    a = detector.assess(tweet("Free mint for early users at arbitrum-odyssey.xyz", author_handle="arbitrum"))
    assert "free_mint_lure" not in signals(a.scam_reasons)


def test_large_prize_from_a_target_account_is_its_own_campaign(detector):
    a = detector.assess(tweet("$10,000 $ARB giveaway to celebrate: follow us and retweet", author_handle="arbitrum"))
    assert "prize_for_engagement" not in signals(a.scam_reasons)
    assert not a.scam_flag


# Airdrop traffic that names incomes, prizes or mints without the second tell: none may be flagged.
@pytest.mark.parametrize("text", [
    "Airdrop recap: $10,000 in $OP went to each of the top 50 delegates, per the governance post",
    "I won $1,000 in the trading competition, the prize landed in my exchange account",
    "Airdrop farming is not passive income, it takes hours of bridging every week",
    "Free mint for holders is live, claim it at opensea.io/collection/pass",
    "Claimed my airdrop and staked it: 6% returns for now",
])
def test_legitimate_posts_naming_money_or_mints_are_not_flagged(detector, text):
    a = detector.assess(tweet(text))
    assert not a.scam_flag, [str(r) for r in a.scam_reasons]
