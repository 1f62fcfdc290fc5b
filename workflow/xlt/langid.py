"""Scripts and language identification: the script of each letter, lingua restricted to the study's languages,
and the line-by-line check of whether a text is in a given language (used by the instruction-following metric,
the judge's switch check and the translation filter)."""

from __future__ import annotations

import functools
import re
import unicodedata

from lingua import IsoCode639_1, Language, LanguageDetector, LanguageDetectorBuilder

# ---- characters and scripts --------------------------------------------------------------------------------


def is_word_char(ch: str) -> bool:
    # Letters, combining marks and digits. `\w` excludes marks (Mn/Mc), so it cuts Arabic words at a shadda and
    # Devanagari words at every vowel sign.
    return unicodedata.category(ch)[0] in "LMN"


@functools.cache
def script_of(ch: str) -> str:
    """The script of a letter, from its Unicode name: "Han", "Kana", "Hangul", "Latin", "Arabic", "Cyrillic"..."""
    name = unicodedata.name(ch, "")
    if name.startswith(("CJK", "IDEOGRAPHIC")):  # ideographs, and the iteration mark 々
        return "Han"
    if name.startswith(("HIRAGANA", "KATAKANA", "HALFWIDTH KATAKANA")):  # also the prolonged sound mark ー
        return "Kana"
    if name.startswith(("HANGUL", "HALFWIDTH HANGUL")):
        return "Hangul"
    return name.split(" ", 1)[0].capitalize() or "Unknown"


def is_cjk(ch: str) -> bool:
    return script_of(ch) in ("Han", "Kana")


def word_runs(text: str) -> list[str]:
    """Maximal runs of letters, marks and digits."""
    runs, current = [], []
    for ch in text:
        if is_word_char(ch):
            current.append(ch)
        elif current:
            runs.append("".join(current))
            current = []
    if current:
        runs.append("".join(current))
    return runs


# ---- language identification ---------------------------------------------------------------------------------


def _iso(code: str) -> IsoCode639_1:
    try:
        return IsoCode639_1.from_str(code)
    except ValueError:
        raise ValueError(f"{code!r} is not an ISO 639-1 code that lingua knows") from None


@functools.cache
def _detector(candidates: tuple[str, ...]) -> LanguageDetector:
    # Restricted to the candidates: with every language lingua takes 20 s and 1.4 GB to load and misreads short
    # strings (a German question as Estonian). Preloading makes the first call's latency the build's.
    return LanguageDetectorBuilder.from_iso_codes_639_1(*map(_iso, candidates)).with_preloaded_language_models().build()


def _best_guess(text: str, candidates: list[str]):
    """lingua's first-ranked (language, confidence) for ``text`` among ``candidates``, or None if it has no
    letters (digits and punctuation say nothing about a language)."""
    key = tuple(sorted(set(candidates)))
    if len(key) < 2:
        raise ValueError(f"language identification needs at least two candidate languages, got {list(key)}")
    if not any(ch.isalpha() for ch in text):
        return None
    return _detector(key).compute_language_confidence_values(text)[0]


def detect_language(text: str, candidates: list[str]) -> str | None:
    """The ISO 639-1 code of ``text``'s language among ``candidates``, or None when lingua's confidence is below
    0.5 or the text has no letters."""
    best = _best_guess(text, candidates)
    return best.language.iso_code_639_1.name.lower() if best is not None and best.value >= 0.5 else None


def top_language(text: str, candidates: list[str]) -> str | None:
    """The ISO 639-1 code lingua ranks first for ``text`` among ``candidates`` however split its confidence is
    (as the Language Confusion Benchmark's line-level check reads fastText's top label), or None if the text
    has no letters."""
    best = _best_guess(text, candidates)
    return best.language.iso_code_639_1.name.lower() if best is not None else None


def language_name(code: str) -> str:
    """The English name of an ISO 639-1 code (``es`` -> ``Spanish``), as MT prompts name languages."""
    try:
        return Language.from_iso_code_639_1(IsoCode639_1.from_str(code)).name.title()
    except ValueError:
        raise ValueError(f"{code!r} is not an ISO 639-1 code that lingua knows (translation languages)") from None


_SCRIPT_GROUPS = (
    ("Latin", Language.all_with_latin_script),
    ("Arabic", Language.all_with_arabic_script),
    ("Cyrillic", Language.all_with_cyrillic_script),
    ("Devanagari", Language.all_with_devanagari_script),
)


@functools.cache
def _language_scripts(lang: str) -> frozenset[str] | None:
    """The scripts ``lang`` is written in, or None if we do not know them."""
    special = {"zh": {"Han"}, "ja": {"Han", "Kana"}, "ko": {"Hangul"}}
    if lang in special:
        return frozenset(special[lang])
    language = Language.from_iso_code_639_1(_iso(lang))
    return next((frozenset({script}) for script, group in _SCRIPT_GROUPS if language in group()), None)


# URLs and e-mail addresses are in no language; cut into words they read as English.
# ASCII only: in unspaced Japanese or Chinese the text right after an address is not part of it.
_ADDRESS = re.compile(r"(?:https?://|www\.)[!-~]+|[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+", re.IGNORECASE)


def _strip_punctuation(text: str) -> str:
    """``text`` without URLs, e-mail addresses, punctuation and symbols."""
    return "".join(" " if unicodedata.category(ch)[0] in "PS" else ch for ch in _ADDRESS.sub(" ", text))


def _token_count(line: str) -> int:
    """Tokens for the length threshold: each Han/kana character, plus each whitespace word with another letter.
    Counted from the line's own script rather than the target's, so a Chinese line in a reply to an English
    prompt is still long enough to be checked."""
    count = 0
    for word in line.split():
        count += sum(is_cjk(ch) for ch in word)
        count += any(ch.isalpha() and not is_cjk(ch) for ch in word)
    return count


MIN_LINE_TOKENS = 5


def language_check(text: str, lang: str, candidates: list[str]) -> bool:
    """Whether ``text`` is in ``lang``, line by line (Language Confusion Benchmark style).

    URLs, e-mail addresses, punctuation and symbols are stripped and the text split into lines; lingua must rank
    ``lang`` first among ``candidates`` (plus ``lang``) for every line of at least 5 tokens, however close the
    runner-up; a line with no letters says nothing. A text with no
    such line (a short reply, a list of single words) is too short for statistical identification: lingua
    calls the Spanish list "médico / agricultor" Portuguese and the French "orange / raisin" English. It passes
    iff most of its letters are in a script ``lang`` is written in: that catches a reply mostly in another
    script (English for Japanese, kana for Chinese) but not a switch within one (English for Spanish, kanji-only
    words between ja and zh).
    Languages of unknown script fall back to identifying the whole text.
    """
    candidates = sorted({*candidates, lang})
    lines = [_strip_punctuation(line) for line in text.splitlines()]
    kept = [line for line in lines if _token_count(line) >= MIN_LINE_TOKENS]
    if kept:
        return all(top_language(line, candidates) in (lang, None) for line in kept)
    whole = " ".join(lines)
    scripts = _language_scripts(lang)
    if scripts is None:
        return detect_language(whole, candidates) == lang
    letters = [script_of(ch) for ch in whole if ch.isalpha()]
    return 2 * sum(script in scripts for script in letters) > len(letters)
