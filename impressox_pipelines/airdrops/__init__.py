"""Airdrop detection: keyword filter, target accounts, opportunity score, scam-risk flag, dedup (no Dagster).

`detector.AirdropDetector.assess(tweet, original)` gives one `Assessment` per tweet; `dedup.group`
merges assessments of the same opportunity (retweets, quotes, reposts of one link) into `Opportunity`
records. Every point of score and of scam risk is a `Reason` with its weight, so users see why.
"""
