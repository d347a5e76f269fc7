"""The keyword filter: literal, case-insensitive, whole-word terms from a file that is re-read on change."""

from __future__ import annotations

import os

import pytest

from impressox_pipelines.airdrops.keywords import KeywordFile, KeywordSet, default_keywords_path
from impressox_pipelines.airdrops.listfile import ListFileError


def test_terms_match_case_insensitively_and_as_whole_words():
    k = KeywordSet.from_terms(["claim", "airdrop"])
    assert k.find("CLAIM yours") == ["claim"]
    assert k.find("#Airdrop season") == ["airdrop"]
    assert k.find("they reclaimed it, claims pending") == []


def test_cashtag_terms_match_only_the_cashtag():
    k = KeywordSet.from_terms(["$ARB", "jup"])
    assert k.find("grab $arb today") == ["$ARB"]
    assert k.find("arb is cheap") == []
    assert k.find("$JUP pumps") == []  # the word term `jup` is not the cashtag


def test_phrases_match_across_any_whitespace():
    k = KeywordSet.from_terms(["air drop", "points program"])
    assert k.find("big AIR   drop\nand a Points\tProgram") == ["air drop", "points program"]


def test_styled_unicode_letters_are_matched_like_plain_ones():
    k = KeywordSet.from_terms(["airdrop"])
    assert k.find("𝐀𝐢𝐫𝐝𝐫𝐨𝐩 live") == ["airdrop"]  # mathematical bold
    assert k.find("аirdrop live") == ["airdrop"]  # Cyrillic "а"
    assert k.find("air\u200bdrop") == ["airdrop"]  # zero-width space


def test_terms_in_unspaced_scripts_match_inside_text():
    k = KeywordSet.from_terms(["空投"])
    assert k.find("新的空投活动开始了") == ["空投"]


def test_regex_characters_are_literal_and_reported():
    k = KeywordSet.parse(b"claim(\n[drop]\n.*\nc++\n")
    assert k.find("please claim( now") == ["claim("]
    assert k.find("claim now") == []
    assert k.find("anything at all") == []  # ".*" is two characters, not a wildcard
    assert k.find("I like c++ a lot") == ["c++"]
    messages = [str(i) for i in k.issues]
    assert any(m.startswith("line 1:") and "matched literally" in m for m in messages)
    assert len([m for m in messages if "regular-expression" in m]) == 4


def test_blank_lines_comments_and_duplicates_are_skipped_with_messages():
    k = KeywordSet.parse(b"# header\n\nairdrop\n   \nAirdrop  # again\nclaim\n#hashtags are comments\n")
    assert k.terms == ["airdrop", "claim"]
    assert k.blank_lines == 4
    assert [str(i) for i in k.issues] == ["line 5: duplicate of line 3 ('Airdrop'); ignored"]


def test_invalid_utf8_line_is_skipped_not_fatal():
    k = KeywordSet.parse(b"airdrop\n\xff\xfeclaim\nsnapshot\n")
    assert k.terms == ["airdrop", "snapshot"]
    assert "line 2: not valid UTF-8" in str(k.issues[0])


def test_file_without_terms_says_so():
    k = KeywordSet.parse(b"# nothing here\n\n")
    assert k.find("airdrop") == []
    assert "no terms" in str(k.issues[0])


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(ListFileError, match="cannot read .*nope.txt"):
        KeywordFile(tmp_path / "nope.txt")


def test_file_is_reloaded_when_it_changes(tmp_path):
    path = tmp_path / "keywords.txt"
    path.write_text("airdrop\n")
    kf = KeywordFile(path)
    assert kf.current().find("snapshot soon") == []
    path.write_text("airdrop\nsnapshot\n")
    os.utime(path, ns=(1, os.stat(path).st_mtime_ns + 1_000_000))
    assert kf.current().find("snapshot soon") == ["snapshot"]
    assert kf.reloads == 2
    kf.current()
    assert kf.reloads == 2  # unchanged file: not parsed again


def test_a_vanished_file_keeps_the_last_good_terms(tmp_path):
    path = tmp_path / "keywords.txt"
    path.write_text("airdrop\n")
    kf = KeywordFile(path)
    path.unlink()
    assert kf.current().terms == ["airdrop"]
    assert "keeping the version loaded before" in kf.read_error


def test_shipped_default_file_loads_cleanly():
    k = KeywordFile(default_keywords_path()).current()
    assert not k.issues
    assert {"airdrop", "claim", "eligibility", "snapshot"} <= set(k.terms)
