"""Scam mechanisms beyond the basic theft patterns: honeypot seeds, reply-bait harvests, mass payouts,
fake eligibility, pay-in requests, DM claims, brand domains split at the dot, and the guards that keep
warnings, conditions and real announcements from being flagged."""

from __future__ import annotations

import pytest

from tests.helpers.airdrops import signals, tweet

SEED = "apple river stone tiger cloud music paper orange table window forest happy"


def weight(assessment, signal: str) -> float:
    return next(r.weight for r in assessment.scam_reasons if r.signal == signal)


@pytest.mark.parametrize(("text", "signal"), [
    (f"Free 5000 USDT wallet, seed phrase: {SEED}", "seed_phrase_bait"),
    (f"airdrop wallet 12 words - {SEED}", "seed_phrase_bait"),
    ("Seed phrase giveaway tonight, first to move the tokens keeps them", "seed_phrase_bait"),
    ("Send your ETH and you'll receive double back from our airdrop", "giveaway_doubling"),
    ("Transfer any amount, get 2x back instantly", "giveaway_doubling"),
    ("Lost your airdrop to a drainer? DM for recovery assistance", "recovery_service"),
    ("DM now for verified, professional recovery help", "recovery_service"),
    ("Private key recovery service, affordable price", "recovery_service"),
    ("📩 DM me if your funds are stuck", "recovery_service"),
])
def test_theft_mechanisms_flag_on_their_own(detector, text, signal):
    a = detector.assess(tweet(text))
    assert signal in signals(a.scam_reasons)
    assert a.scam_flag


@pytest.mark.parametrize(("text", "signal"), [
    ("Every wallet gets 1 $SOL", "mass_payout"),
    ("First 1000 wallets get 100 tokens", "mass_payout"),
    ("First 500 get a spot", "mass_payout"),
    ("0.4 BTC free for everyone", "mass_payout"),
    ("350 USDT each for 2000 fastest people", "mass_payout"),
    ("Any interaction counts, even if you did it just once", "eligibility_bait"),
    ("Your wallet is eligible for 2,400 tokens", "eligibility_bait"),
    ("You have unclaimed rewards waiting", "eligibility_bait"),
    ("The protocol is quietly rewarding early users", "eligibility_bait"),
    ("Anyone who has ever bridged qualifies", "eligibility_bait"),
    ("Congratulations, your wallet has won 500 USDT", "eligibility_bait"),
    ("Support the drop: send 0.01 ETH to this wallet, thank you", "payment_request"),
    ("Giveaway: paste your wallet address below", "address_solicitation"),
    ("Comment your $SOL or $ETH addy", "address_solicitation"),
    ("FREE 0.5 BTC for our followers", "too_good_to_be_true"),
    ("500 USDT free to new members", "too_good_to_be_true"),
    ("Tap to secure your spot", "claim_call_to_action"),
    ("Click here to claim", "claim_call_to_action"),
    ("Mint is live", "claim_call_to_action"),
    ("Sign the message to claim", "wallet_connect_request"),
    ("Approve the transaction to verify", "wallet_connect_request"),
    ("Connect to the dapp and check", "wallet_connect_request"),
    ("DM to claim your tokens", "off_platform_contact"),
    ("DM for the link", "off_platform_contact"),
])
def test_soft_tells_fire_but_do_not_flag_alone(detector, text, signal):
    a = detector.assess(tweet(text))
    assert signal in signals(a.scam_reasons)
    assert 0 < a.scam_risk < 1.0 and not a.scam_flag


def test_address_harvest_under_an_airdrop_weighs_more_than_a_whitelist_raffle(detector):
    raffle = detector.assess(tweet("5 WL spots for our mint: follow, RT and drop your wallet"))
    harvest = detector.assess(tweet("$PEPE airdrop: follow, RT and drop your wallet"))
    assert weight(raffle, "address_solicitation") < weight(harvest, "address_solicitation")
    assert not raffle.scam_flag  # an allowlist needs the address
    assert harvest.scam_flag  # a token airdrop snapshots on-chain; the replies are the harvest


def test_coin_giveaway_counts_as_a_token_promise(detector):
    a = detector.assess(tweet("SOL giveaway: like, retweet and drop addy"))
    assert a.scam_flag and "address_solicitation" in signals(a.scam_reasons)


def test_pay_in_request_with_an_address_flags(detector):
    a = detector.assess(tweet("Airdrop claim: send 0.01 ETH to this wallet "
                              "0x52908400098527886E0F7030069857D2E4169EE7 to activate"))
    assert {"payment_request", "wallet_address"} <= signals(a.scam_reasons)
    assert a.scam_flag


def test_fake_eligibility_with_a_claim_page_flags(detector):
    a = detector.assess(tweet("Arbitrum is quietly rewarding early users. Eligible: any bridge, any swap, "
                              "even if you did it just once. arb-rewards.pro/claim"))
    assert {"eligibility_bait", "unofficial_claim_link"} <= signals(a.scam_reasons)
    assert a.scam_flag


def test_mass_payout_with_a_bait_domain_flags(detector):
    a = detector.assess(tweet("$ZK airdrop live: every wallet gets 500 ZK at zk-drop.app"))
    assert "mass_payout" in signals(a.scam_reasons) and a.scam_flag


def test_brand_spelled_across_the_dot_is_a_lookalike(detector):
    fake = detector.assess(tweet("$LINK rewards for stakers", urls=["https://hub-chain.link/rewards"]))
    real = detector.assess(tweet("$LINK staking docs", urls=["https://docs.chain.link/staking"]))
    assert "lookalike_link" in signals(fake.scam_reasons) and fake.scam_flag
    assert "lookalike_link" not in signals(real.scam_reasons)


@pytest.mark.parametrize("text", [
    "Free mint for holders, mint at pixelmint.io/pass",
    "Whitelist giveaway, register at pixelmint.io/pass",
    "Check your eligibility at pixelmint.io/checker",
])
def test_drainer_links_sold_as_giveaways_or_mints_count_as_claim_talk(detector, text):
    a = detector.assess(tweet(text))
    assert "unofficial_claim_link" in signals(a.scam_reasons)


@pytest.mark.parametrize(("text", "signal"), [
    ("If you're eligible for the $STRK airdrop you can claim until June 20", "eligibility_bait"),
    ("Check whether your wallet is eligible on the official site", "eligibility_bait"),
    ("Scammers promise that every wallet gets 1 SOL, ignore them", "mass_payout"),
    ("Never reply with your wallet address to airdrop posts", "address_solicitation"),
    ("Don't send ETH to this address, it is a drainer", "payment_request"),
    ("Beware of 'seed phrase giveaway' posts: the wallet is a honeypot", "seed_phrase_bait"),
])
def test_warnings_and_conditions_are_not_the_scam(detector, text, signal):
    assert signal not in signals(detector.assess(tweet(text)).scam_reasons)


# Real airdrop traffic in the shapes it takes: official announcements, users' chatter, guides, news and
# warnings. None of it may be flagged (flagged tweets are never sent to users).
LEGITIMATE = [
    ("The $ARB airdrop claim is live for eligible wallets until March 23. Only use https://arbitrum.foundation",
     "arbitrum"),
    ("Jupuary is here: 700M $JUP claimable by eligible wallets. Check your allocation at jup.ag, the only "
     "official link. We will never DM you.", "JupiterExchange"),
    ("Uniswap airdrop explained: each address that used the protocol before Sept 1 can claim 400 UNI. "
     "Details: blog.uniswap.org/uni", None),
    ("Just claimed my $JUP, thanks team! Now staking it.", None),
    ("PSA: there is no $ZRO airdrop claim page besides layerzero.foundation. Never connect your wallet to "
     "sites from replies, and never share your seed phrase.", None),
    ("Airdrop farming guide: bridge to Scroll, swap on two DEXes, provide liquidity for 30 days. Thread", None),
    ("Is the snapshot for the Starknet airdrop done? I bridged in November, wondering if I'm eligible.", None),
    ("If you're eligible for the $STRK airdrop you can claim until June 20 at provisions.starknet.io", None),
    ("We're giving away 5 WL spots for our mint! Follow, RT and drop your wallet below", None),
    ("Airdrop alert: follow @project and RT, snapshot Friday", None),
    ("Never reply with your wallet address to airdrop posts, and do not send funds to strangers.", None),
    ("I missed the $TIA airdrop claim window, gutted", None),
    ("Free mint is live for holders! Claim your pass at opensea.io/collection/pass", None),
    ("Airdrop season: check eligibility only on official sites and never sign a message you don't understand",
     None),
    ("LayerZero airdrop: claim requires a donation of $0.10 per ZRO to Protocol Guild, paid in the claim "
     "transaction", None),
    ("My wallet got 3 random airdropped tokens today, do not interact with them, they are phishing", None),
    ("Hyperliquid airdrop was the biggest ever. Anyone who used the platform before Nov got HYPE. Congrats "
     "to everyone who claimed", None),
]


@pytest.mark.parametrize(("text", "author"), LEGITIMATE)
def test_legitimate_airdrop_posts_are_not_flagged(detector, text, author):
    a = detector.assess(tweet(text, author_handle=author) if author else tweet(text))
    assert not a.scam_flag, [str(r) for r in a.scam_reasons]
