"""Text normalisation shared by the keyword filter and the rules.

Scam posts dodge filters with look-alike characters: mathematical bold letters (𝐀𝐢𝐫𝐝𝐫𝐨𝐩), full-width
forms, zero-width spaces, Cyrillic or Greek letters inside Latin words ("аirdrop" with a Cyrillic "а")
and defanged links ("claim-arb[.]xyz"). `normalize` undoes these so one rule matches every spelling;
`mixed_script_words` reports the words that needed a homoglyph mapped, itself a sign of evasion.
"""

from __future__ import annotations

import re
import unicodedata

# Cyrillic and Greek letters drawn like Latin ones (after Unicode's confusables.txt); only mapped
# inside words that also contain Latin letters, so genuine Russian or Greek text is left alone.
HOMOGLYPHS = str.maketrans({
    "а": "a", "е": "e", "о": "o", "р": "p", "с": "c", "у": "y", "х": "x", "і": "i", "ј": "j", "ѕ": "s",
    "ԁ": "d", "ӏ": "l", "һ": "h", "ԛ": "q", "ԝ": "w", "ү": "y",
    "А": "A", "В": "B", "Е": "E", "К": "K", "М": "M", "Н": "H", "О": "O", "Р": "P", "С": "C", "Т": "T",
    "Х": "X", "У": "Y", "І": "I", "Ј": "J", "Ѕ": "S",
    "α": "a", "ο": "o", "ν": "v", "ρ": "p", "ι": "i", "κ": "k", "υ": "u",
    "Α": "A", "Β": "B", "Ε": "E", "Ζ": "Z", "Η": "H", "Ι": "I", "Κ": "K", "Μ": "M", "Ν": "N", "Ο": "O",
    "Ρ": "P", "Τ": "T", "Υ": "Y", "Χ": "X",
})
_HOMOGLYPH_CHARS = frozenset(chr(c) for c in HOMOGLYPHS)
_WORD = re.compile(r"\w+")
_ASCII_LETTER = re.compile(r"[A-Za-z]")
# Defanged dots and schemes as posted to slip past link filters: "claim[.]xyz", "hxxps://".
_DEFANG = [
    # `(?<!\s)`: a match starts where a whitespace run starts, so a long run is scanned once, not once
    # per position (which made a 25,000-space post take seconds).
    (re.compile(r"(?<!\s)\s*[\[\(\{]\s*(?:\.|dot)\s*[\]\)\}]\s*", re.I), "."),
    (re.compile(r"\bhxxp(s?)://", re.I), r"http\1://"),
]


def _strip_format_chars(text: str) -> str:
    # Zero-width spaces/joiners and bidi controls (category Cf) split words invisibly.
    return "".join(ch for ch in text if unicodedata.category(ch) != "Cf")


def _unmix_word(match: re.Match[str]) -> str:
    word = match.group(0)
    if _ASCII_LETTER.search(word) and any(ch in _HOMOGLYPH_CHARS for ch in word):
        return word.translate(HOMOGLYPHS)
    return word


def fold(text: str, *, unmix: bool = True) -> str:
    """NFKC, format characters removed, links refanged, and (with `unmix`) homoglyphs mapped to Latin.

    Case is kept (cashtags and addresses need it). Extract links with `unmix=False`: a look-alike
    letter in a domain is the evidence, not noise.
    """
    text = _strip_format_chars(unicodedata.normalize("NFKC", text or ""))
    if unmix:
        text = _WORD.sub(_unmix_word, text)
    for pattern, replacement in _DEFANG:
        text = pattern.sub(replacement, text)
    return text


def normalize(text: str) -> str:
    """`fold`, then casefold: the form every keyword and rule is matched against."""
    return fold(text).casefold()


def mixed_script_words(text: str) -> list[str]:
    """Words (after NFKC) mixing Latin letters with Cyrillic/Greek look-alikes, in order of appearance."""
    text = _strip_format_chars(unicodedata.normalize("NFKC", text or ""))
    return [
        w for w in _WORD.findall(text) if _ASCII_LETTER.search(w) and any(ch in _HOMOGLYPH_CHARS for ch in w)
    ]


def has_words(text: str) -> bool:
    """Whether the text has any letter or digit (False for empty, whitespace, emoji- or symbol-only text)."""
    return any(unicodedata.category(ch)[0] in "LN" for ch in text or "")
