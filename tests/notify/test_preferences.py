"""Preferences: only documented fields with documented types reach MongoDB; subscribers are found by topic."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from impressox_pipelines.notify.preferences import (
    PREFERENCES_COLLECTION,
    InvalidPreferences,
    PreferenceStore,
    QuietHours,
    apply_changes,
)


@pytest.mark.parametrize(
    "changes,reason",
    [
        ({"chat_id": 1, "$set": {"active": False}}, "field name '$set'"),
        ({"chat_id": 1, "subscriptions": {"$ne": None}}, "field name '$ne'"),
        ({"chat_id": 1, "subscriptions.airdrops": True}, "field name 'subscriptions.airdrops'"),
        ({"chat_id": {"$gt": 0}}, "field name '$gt'"),
        ({"chat_id": "12abc"}, "chat_id '12abc' is not an integer"),
        ({"chat_id": True}, "chat_id must be an integer"),
        ({"subscriptions": {"airdrops": True}}, "missing field: chat_id"),
        ({"chat_id": 1, "timezone": "Mars/Olympus_Mons"}, "not an IANA time zone"),
        ({"chat_id": 1, "digest_hour": 24}, "digest_hour must be an integer from 0 to 23"),
        ({"chat_id": 1, "quiet_hours": {"start": "25:00", "end": "07:00"}}, "time '25:00' is not HH:MM"),
        ({"chat_id": 1, "quiet_hours": {"start": "22:00", "end": "07:00", "mode": "loud"}}, "quiet_hours.mode"),
        ({"chat_id": 1, "subscriptions": {"memes": True}}, "unknown subscription 'memes'"),
        ({"chat_id": 1, "subscriptions": {"airdrops": "yes"}}, "subscriptions.airdrops must be true or false"),
        ({"chat_id": 1, "keywords": "zora"}, "keywords must be a list of strings"),
        ({"chat_id": 1, "watch_symbols": ["BTC", "BTC/"]}, "watch_symbols: not a pair: 'BTC/'"),
        ({"chat_id": 1, "watch_symbols": ["???"]}, "watch_symbols: not a pair: '???'"),
        ({"chat_id": 1, "watch_symbols": ["usd"]}, "watch_symbols: not a pair: 'usd' (an asset priced in itself)"),
        ({"chat_id": 1, "watch_symbols": "BTC"}, "watch_symbols must be a list of strings"),
        ({"chat_id": 1, "role": "admin"}, "unexpected field(s): role"),
    ],
)
def test_invalid_updates_are_rejected_with_a_reason(changes, reason):
    with pytest.raises(InvalidPreferences) as err:
        apply_changes(None, changes)
    assert reason in str(err.value)


def test_updates_merge_and_are_stored_under_the_chat_id(mongo):
    store = PreferenceStore(mongo.get_database())
    store.update({"chat_id": "-100123", "subscriptions": {"airdrops": True}, "keywords": ["zora", " ", "zora"],
                  "watch_symbols": ["btc", "eth"], "timezone": "Asia/Kolkata", "digest_hour": 9})
    prefs = store.update({"chat_id": -100123, "subscriptions": {"digest": True},
                          "quiet_hours": {"start": "23:00", "end": "06:30", "mode": "defer"}})
    assert prefs.subscriptions == {"price_alerts": True, "airdrops": True, "digest": True}
    assert prefs.keywords == ("zora",) and prefs.watch_symbols == ("BTC", "ETH")
    assert prefs.timezone == "Asia/Kolkata" and prefs.digest_hour == 9
    assert prefs.quiet_hours == QuietHours("23:00", "06:30", "defer")
    doc = mongo.get_database()[PREFERENCES_COLLECTION].find_one({"_id": -100123})
    assert doc["timezone"] == "Asia/Kolkata" and store.get(-100123) == prefs


def test_watched_symbols_are_stored_as_the_market_monitor_names_pairs():
    prefs = apply_changes(None, {"chat_id": 1, "watch_symbols": [" btc", "BTC/USD", "btc-usd", "", "eth/btc", "1inch"]})
    assert prefs.watch_symbols == ("BTC", "ETH/BTC", "1INCH")


def test_an_empty_watch_list_clears_it():
    watching = apply_changes(None, {"chat_id": 1, "watch_symbols": ["BTC"]})
    assert apply_changes(watching, {"chat_id": 1, "watch_symbols": [" ", ""]}).watch_symbols == ()


def test_a_rejected_update_stores_nothing(mongo):
    store = PreferenceStore(mongo.get_database())
    with pytest.raises(InvalidPreferences):
        store.update({"chat_id": 5, "timezone": "Nowhere/City"})
    assert store.get(5) is None


def test_subscribers_are_active_chats_with_the_topic(mongo):
    store = PreferenceStore(mongo.get_database())
    store.update({"chat_id": 1, "subscriptions": {"airdrops": True}})
    store.update({"chat_id": 2, "subscriptions": {"airdrops": False}})
    store.update({"chat_id": 3, "subscriptions": {"airdrops": True}})
    store.deactivate(3, "Forbidden: bot was blocked by the user")
    store.deactivate(4, "Chat not found")  # no record yet: one is created, inactive
    assert [p.chat_id for p in store.subscribers("airdrops")] == [1]
    assert store.get(4).active is False and store.get(4).inactive_reason == "Chat not found"
    # The user unblocks the bot: the backend sends active=true.
    assert store.update({"chat_id": 3, "active": True}).inactive_reason is None
    assert [p.chat_id for p in store.subscribers("airdrops")] == [1, 3]
    with pytest.raises(ValueError):
        store.subscribers("$where")


@pytest.mark.parametrize(
    "start,end,local,inside",
    [("22:00", "07:00", "23:30", True), ("22:00", "07:00", "06:59", True), ("22:00", "07:00", "07:00", False),
     ("12:00", "14:00", "13:00", True), ("12:00", "14:00", "14:00", False), ("09:00", "09:00", "09:00", False)],
)
def test_quiet_hours_windows_wrap_midnight(start, end, local, inside):
    assert QuietHours(start, end).contains(datetime.strptime(local, "%H:%M").time()) is inside


def test_keywords_match_case_insensitively_and_empty_means_everything():
    prefs = apply_changes(None, {"chat_id": 1, "keywords": ["ZoRa"]})
    assert prefs.matches_keywords("zora claim") and not prefs.matches_keywords("blast")
    assert apply_changes(None, {"chat_id": 1}).matches_keywords("anything")
    assert prefs.local(datetime(2026, 1, 1, tzinfo=UTC)).tzinfo is not None
