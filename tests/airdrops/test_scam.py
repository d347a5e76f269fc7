"""Scam patterns: each fires on its own, theft mechanics flag alone, soft tells only together."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.helpers.airdrops import DAY, signals, tweet


@pytest.mark.parametrize(("text", "signal"), [
    ("Giveaway! Send 1 ETH and get 2 ETH back", "giveaway_doubling"),
    ("We will send back double whatever you send", "giveaway_doubling"),
    ("Double your BTC with our airdrop", "giveaway_doubling"),
    ("Send 0.05 ETH to receive your airdrop allocation", "send_to_receive"),
    ("Pay the small activation fee to unlock your claim", "send_to_receive"),
    ("Enter your seed phrase to claim the airdrop", "seed_phrase_request"),
    ("DM your private key to verify eligibility", "seed_phrase_request"),
    ("Reply with the 12 words to validate", "seed_phrase_request"),
    ("Recover your lost funds: contact a verified recovery expert", "recovery_service"),
])
def test_theft_mechanics_flag_on_their_own(detector, text, signal):
    a = detector.assess(tweet(text))
    assert signal in signals(a.scam_reasons)
    assert a.scam_flag


@pytest.mark.parametrize(("text", "signal"), [
    ("Connect your wallet to check the airdrop", "wallet_connect_request"),
    ("Wallet verification needed for the claim", "wallet_connect_request"),
    ("Last chance! Only 3 hours left to claim", "urgency_bait"),
    ("First come, first served airdrop", "urgency_bait"),
    ("Claim now, airdrop is live", "claim_call_to_action"),
    ("Claimed mine, it's 100% legit", "false_assurance"),
    ("Airdrop questions? DM me", "off_platform_contact"),
    ("Drop your SOL wallet address below for the airdrop", "address_solicitation"),
    ("Airdrop giveaway: follow and RT to enter", "engagement_bait"),
    ("Guaranteed risk-free airdrop", "too_good_to_be_true"),
    ("airdrop to 0x52908400098527886E0F7030069857D2E4169EE7 soon", "wallet_address"),
    ("sol airdrop 7EcDhSYGxXyscszYEp35KHN8vvw3svAuLKTzXwCFLtV", "wallet_address"),
])
def test_soft_tells_are_recorded_but_do_not_flag_alone(detector, text, signal):
    a = detector.assess(tweet(text))
    assert signal in signals(a.scam_reasons)
    assert 0 < a.scam_risk < 1.0 and not a.scam_flag


def test_soft_tells_together_flag(detector):
    a = detector.assess(tweet("Airdrop live! Connect your wallet now, only 2 hours left"))
    assert {"wallet_connect_request", "urgency_bait"} <= signals(a.scam_reasons)
    assert a.scam_flag and not a.is_opportunity


def test_advice_about_wallet_secrets_is_not_a_request(detector):
    a = detector.assess(tweet("Airdrop season: never share your seed phrase and do not connect wallet to random sites"))
    assert not a.scam_flag
    assert "seed_phrase_request" not in signals(a.scam_reasons)
    assert "wallet_connect_request" not in signals(a.scam_reasons)
    assert any(r.signal == "seed_phrase_mention" and r.weight == 0 for r in a.scam_reasons)


@pytest.mark.parametrize(("urls", "signal"), [
    (["https://arbitrum-claim.xyz/drop"], "lookalike_link"),
    (["https://arb1trum.io"], "lookalike_link"),
    (["https://bit.ly/3xyzab"], "shortened_link"),
    (["https://claimdrop-rewards.com"], "bait_domain"),
    (["https://ethgasfoundetion.org/token"], "misspelt_domain"),
    (["https://t.me/free_airdrop_bot"], "off_platform_contact"),
])
def test_risky_links(detector, urls, signal):
    a = detector.assess(tweet("The airdrop is here", urls=urls))
    assert signal in signals(a.scam_reasons)


def test_lookalike_link_flags_even_from_a_target_account(detector):
    a = detector.assess(tweet("Airdrop claim", author_handle="arbitrum", urls=["https://arbitrum-claim.xyz"]))
    assert a.scam_flag  # hacked official accounts post drainer links too


def test_unofficial_claim_page_plus_any_tell_flags(detector):
    a = detector.assess(tweet("Airdrop is live, claimed mine already: moonclaim.lol/claim"))
    assert {"unofficial_claim_link", "false_assurance"} <= signals(a.scam_reasons)
    assert a.scam_flag


def test_official_claim_announcement_is_an_opportunity(detector):
    a = detector.assess(tweet(
        "The $ARB airdrop claim is live for eligible wallets until March 23. "
        "Only use https://arbitrum.foundation", author_handle="arbitrum", author_verified=True,
    ))
    assert not a.scam_flag and a.is_opportunity and a.score >= 60


def test_ticker_stuffing(detector):
    a = detector.assess(tweet("Claim now: $USOR airdrop $PEPE $WIF $BONK $TRUMP $DOGE"))
    assert "ticker_stuffing" in signals(a.scam_reasons)
    assert a.scam_flag  # stuffing plus the claim push


def test_new_account_and_few_followers(detector):
    a = detector.assess(tweet("airdrop", author_created_at=DAY - timedelta(days=3), author_followers_count=12))
    assert {"new_account", "few_followers"} <= signals(a.scam_reasons)
    old = detector.assess(tweet("airdrop"))
    assert not {"new_account", "few_followers"} & signals(old.scam_reasons)


def test_impersonating_account_flags(detector):
    a = detector.assess(tweet("airdrop is live", author_handle="arbitrum_claims", author_name="Arbitrum"))
    assert "impersonation" in signals(a.scam_reasons) and a.scam_flag


def test_quoting_an_impersonator_is_flagged(detector):
    fake = tweet("claim here", author_handle="Arb1trum", author_name="Arbitrum")
    quote = tweet("airdrop!!", quoted_id=fake.id)
    assert detector.assess(quote, fake).scam_flag


def test_mixed_script_words_are_a_tell(detector):
    a = detector.assess(tweet("Frее аirdrop claim"))  # Cyrillic е and а
    assert "mixed_script" in signals(a.scam_reasons)
    assert a.keywords  # still matched as "airdrop" and "claim"


def test_threshold_is_configurable():
    from impressox_pipelines.airdrops.detector import AirdropDetector
    from impressox_pipelines.airdrops.keywords import KeywordSet
    from impressox_pipelines.airdrops.targets import TargetAccounts

    strict = AirdropDetector(KeywordSet.from_terms(["airdrop"]), TargetAccounts(), flag_threshold=0.4)
    assert strict.assess(tweet("airdrop, last chance")).scam_flag
