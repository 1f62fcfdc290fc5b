"""Scoring for the study's three task kinds: ROUGE-L with language-aware tokens, numeric answers for math, and the
machine-checkable constraints of instruction following, including whether a reply is in the prompt's language."""

from __future__ import annotations

import functools
import json
import re
import unicodedata

from lingua import IsoCode639_1, Language, LanguageDetector, LanguageDetectorBuilder
from rouge_score import rouge_scorer, tokenizers

# ---- characters and scripts --------------------------------------------------------------------------------


def _is_word_char(ch: str) -> bool:
    # Letters, combining marks and digits. `\w` excludes marks (Mn/Mc), so it cuts Arabic words at a shadda and
    # Devanagari words at every vowel sign.
    return unicodedata.category(ch)[0] in "LMN"


@functools.cache
def _script(ch: str) -> str:
    """The script of a letter, from its Unicode name: "Han", "Kana", "Hangul", "Latin", "Arabic", "Cyrillic"..."""
    name = unicodedata.name(ch, "")
    if name.startswith(("CJK", "IDEOGRAPHIC")):  # ideographs, and the iteration mark 々
        return "Han"
    if name.startswith(("HIRAGANA", "KATAKANA", "HALFWIDTH KATAKANA")):  # also the prolonged sound mark ー
        return "Kana"
    if name.startswith(("HANGUL", "HALFWIDTH HANGUL")):
        return "Hangul"
    return name.split(" ", 1)[0].capitalize() or "Unknown"


def _is_cjk(ch: str) -> bool:
    return _script(ch) in ("Han", "Kana")


def _word_runs(text: str) -> list[str]:
    """Maximal runs of letters, marks and digits."""
    runs, current = [], []
    for ch in text:
        if _is_word_char(ch):
            current.append(ch)
        elif current:
            runs.append("".join(current))
            current = []
    if current:
        runs.append("".join(current))
    return runs


# ---- ROUGE-L -----------------------------------------------------------------------------------------------


def tokenize_for_rouge(text: str, lang: str) -> list[str]:
    """ROUGE tokens: one per Han/kana character for zh and ja (runs of Latin letters or digits inside them stay
    one token), one per whitespace-separated eojeol for ko, one per word (letters, marks, digits) otherwise.
    Lower-cased, punctuation and symbols dropped, NFKC-normalized so full-width and compatibility forms match
    their plain spelling."""
    text = unicodedata.normalize("NFKC", text).lower()
    if lang in ("zh", "ja"):
        tokens = []
        for run in _word_runs(text):
            pending = ""
            for ch in run:
                if _is_cjk(ch):
                    if pending:
                        tokens.append(pending)
                        pending = ""
                    tokens.append(ch)
                else:
                    pending += ch
            if pending:
                tokens.append(pending)
        return tokens
    if lang == "ko":
        # Eojeol keep their particles (팀이 != 팀을); that is the unit Korean is written in, and the choice is
        # stated so scores stay comparable with other eojeol-level ROUGE.
        eojeol = ("".join(ch for ch in chunk if _is_word_char(ch)) for chunk in text.split())
        return [word for word in eojeol if word]
    return _word_runs(text)


class _RougeTokenizer(tokenizers.Tokenizer):
    """The `tokenize(text)` object rouge_score's scorer calls."""

    def __init__(self, lang: str):
        self.lang = lang

    def tokenize(self, text: str) -> list[str]:
        return tokenize_for_rouge(text, self.lang)


@functools.cache
def _rouge_scorer(lang: str) -> rouge_scorer.RougeScorer:
    return rouge_scorer.RougeScorer(["rougeL"], tokenizer=_RougeTokenizer(lang))


def rouge_l(prediction: str, reference: str, lang: str) -> float:
    """ROUGE-L F1 of ``prediction`` against ``reference`` on ``tokenize_for_rouge`` tokens (0.0 if either is
    empty)."""
    return _rouge_scorer(lang).score(reference, prediction)["rougeL"].fmeasure


# ---- numeric answers -----------------------------------------------------------------------------------------

# "The answer is" in the study's languages, and LaTeX's \boxed{}; the answer is the first number after the last
# one of these. Accents are matched after NFC, so decomposed input works too.
_ANSWER_MARKER = re.compile(
    r"answer\s+is|respuesta\s+es|r[ée]ponse\s+est|resposta\s+é|答えは|答案是|답은|ال[إا]جابة\s+هي|\\boxed\{",
    re.IGNORECASE,
)
_SPACE_GROUP = "\u0020\u00a0\u2009\u202f"  # space, no-break, thin and narrow no-break space (French "1 234")
# A signed digit run with inner separators. A minus right after a digit, Latin letter or closing bracket is
# subtraction or a hyphen ("43-38", "x-5"), not a sign.
_NUMBER_RUN = re.compile(rf"(?P<sign>(?<![0-9A-Za-z)\]])-)?(?P<body>\d+(?:[.,{_SPACE_GROUP}]\d+)*)")
_THOUSANDS = re.compile(r"[1-9]\d{0,2}(?:([.,])\d{3})(?:\1\d{3})*")  # 1,234 / 12.345.678, one separator kind


def _normalize_digits(text: str) -> str:
    """Any script's decimal digits as ASCII, Unicode minus signs as "-", Arabic decimal/thousands separators as
    "." and ",". Other punctuation is left alone: a Chinese "，" or Arabic "،" separates list items, not digits."""
    out = []
    for ch in unicodedata.normalize("NFC", text):
        digit = unicodedata.decimal(ch, None)
        if digit is not None:
            out.append(str(digit))
        else:
            out.append({"\u2212": "-", "\uff0d": "-", "\u066b": ".", "\u066c": ",", "\uff0e": "."}.get(ch, ch))
    return "".join(out)


def _readings(chunk: str) -> list[list[float]]:
    """The numbers one separator-joined digit chunk (no spaces) stands for, each as its readings (preferred
    first). A chunk whose separators fit no number format is a list ("3,4,5") and yields one number per group."""
    commas, dots = chunk.count(","), chunk.count(".")
    if not commas and not dots:
        return [[float(chunk)]]
    if commas and dots:  # "1,234.5" / "1.234,5": the last separator is the decimal one
        decimal = "." if chunk.rfind(".") > chunk.rfind(",") else ","
        whole, _, fraction = chunk.rpartition(decimal)
        if decimal not in whole and _THOUSANDS.fullmatch(whole):
            return [[float(whole.replace("," if decimal == "." else ".", "") + "." + fraction)]]
    elif commas + dots == 1:
        head, _, tail = chunk.replace(",", ".").partition(".")
        decimal = float(f"{head}.{tail}")
        if len(tail) == 3 and _THOUSANDS.fullmatch(chunk):
            # "1,234" and "1.234" are each a thousands group in one convention and a decimal in another; the
            # group is the usual reading in word problems, and math_correct accepts either.
            return [[float(head + tail), decimal]]
        return [[decimal]]  # "3,5" (es/fr/pt) or "3.5"; "0,125" is never a thousands group
    elif _THOUSANDS.fullmatch(chunk):  # "1,234,567" / "1.234.567"
        return [[float(re.sub(r"[.,]", "", chunk))]]
    return [[float(group)] for group in re.split(r"[.,]", chunk)]


def _parse_run(body: str) -> list[list[float]]:
    """Numbers in one digit run. Spaces join digits only as thousands groups: a 1-3 digit head followed by
    3-digit groups, the last of which may carry a decimal part ("1 234", "12 345,5"); otherwise a space
    separates numbers ("3 4 5")."""
    chunks = re.split(f"[{_SPACE_GROUP}]", body)
    numbers: list[list[float]] = []
    i = 0
    while i < len(chunks):
        j = i + 1
        if re.fullmatch(r"\d{1,3}", chunks[i]):
            while j < len(chunks) and re.fullmatch(r"\d{3}", chunks[j]):
                j += 1
            if j < len(chunks) and re.fullmatch(r"\d{3}[.,]\d+", chunks[j]):
                j += 1
        if j > i + 1:
            numbers.append([float("".join(chunks[i:j]).replace(",", "."))])
        else:
            numbers.extend(_readings(chunks[i]))
        i = j
    return numbers


def _numbers(text: str) -> list[tuple[int, list[float]]]:
    """Every number in normalized text, in order, as (start offset, readings)."""
    found = []
    for match in _NUMBER_RUN.finditer(text):
        parsed = _parse_run(match["body"])
        if match["sign"]:
            parsed[0] = [-value for value in parsed[0]]
        found.extend((match.start(), readings) for readings in parsed)
    return found


def _final_answer(text: str) -> list[float] | None:
    """Readings of the answer in free text: the first number after the last answer marker, else the last number."""
    text = _normalize_digits(text)
    numbers = _numbers(text)
    if not numbers:
        return None
    markers = list(_ANSWER_MARKER.finditer(text))
    if markers:
        after = [readings for start, readings in numbers if start >= markers[-1].end()]
        if after:
            return after[0]
    return numbers[-1][1]


def extract_number(text: str) -> float | None:
    """The final numeric answer in ``text`` (any of en es fr pt ja zh ko ar), or None if it has no number.

    The number after the last "the answer is" phrase (or \\boxed{) wins, else the last number. Digits of any
    script count; "1,234", "1.234", "1 234" are thousands groups, "3,5" a decimal comma. A single separator
    before exactly three digits is ambiguous ("1.234"): this returns the thousands reading, and
    ``math_correct`` accepts either reading.
    """
    readings = _final_answer(text)
    return readings[0] if readings else None


def math_correct(prediction: str, reference: str) -> bool:
    """Whether the final number in ``prediction`` equals the numeric ``reference`` (|difference| < 1e-6)."""
    try:
        gold = float(reference)
    except ValueError:
        gold = extract_number(reference)
        if gold is None:
            raise ValueError(f"math reference {reference!r} has no number") from None
    readings = _final_answer(prediction)
    return readings is not None and any(abs(value - gold) < 1e-6 for value in readings)


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


def detect_language(text: str, candidates: list[str]) -> str | None:
    """The ISO 639-1 code of ``text``'s language among ``candidates``, or None when lingua's confidence is below
    0.5 or the text has no letters (digits and punctuation say nothing about a language)."""
    key = tuple(sorted(set(candidates)))
    if len(key) < 2:
        raise ValueError(f"language identification needs at least two candidate languages, got {list(key)}")
    if not any(ch.isalpha() for ch in text):
        return None
    best = _detector(key).compute_language_confidence_values(text)[0]
    return best.language.iso_code_639_1.name.lower() if best.value >= 0.5 else None


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


def _strip_punctuation(text: str) -> str:
    return "".join(" " if unicodedata.category(ch)[0] in "PS" else ch for ch in text)


def _token_count(line: str) -> int:
    """Tokens for the length threshold: each Han/kana character, plus each whitespace word with another letter.
    Counted from the line's own script rather than the target's, so a Chinese line in a reply to an English
    prompt is still long enough to be checked."""
    count = 0
    for word in line.split():
        count += sum(_is_cjk(ch) for ch in word)
        count += any(ch.isalpha() and not _is_cjk(ch) for ch in word)
    return count


MIN_LINE_TOKENS = 5


def language_check(text: str, lang: str, candidates: list[str]) -> bool:
    """Whether ``text`` is in ``lang``, line by line (Language Confusion Benchmark style).

    Punctuation and symbols are stripped and the text split into lines; every line of at least 5 tokens must be
    identified as ``lang`` among ``candidates`` (plus ``lang``); an unidentifiable line fails. A text with no
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
        return all(detect_language(line, candidates) == lang for line in kept)
    whole = " ".join(lines)
    scripts = _language_scripts(lang)
    if scripts is None:
        return detect_language(whole, candidates) == lang
    letters = [_script(ch) for ch in whole if ch.isalpha()]
    return 2 * sum(script in scripts for script in letters) > len(letters)


# ---- instruction-following constraints -------------------------------------------------------------------------

_NUMBERED_LINE = re.compile(r"^\s*\d+[.)]\s+\S")
_QUOTE_CHARS = "\"'“”‘’„‚«»‹›「」『』"


def _normalize(text: str) -> str:
    # NFC so a reply with decomposed accents still matches; whitespace runs collapsed so a re-wrapped sentence
    # still counts as repeated.
    return re.sub(r"\s+", " ", unicodedata.normalize("NFC", text)).strip()


def _quote_parts(quote: str) -> tuple[str, str]:
    opening, _, closing = quote.partition("{text}")
    return opening.strip(), closing.strip()


def check_constraints(reply: str, reference: str, candidates: list[str]) -> dict[str, bool]:
    """Check ``reply`` against an instruction-following reference (JSON ``{"lang", "constraints": [...]}`` as the
    synthetic generator writes it); returns ``{constraint type: passed}``. ``candidates`` are the languages the
    response-language check chooses among."""
    constraints = json.loads(reference)["constraints"]
    text = _normalize(reply)
    results: dict[str, bool] = {}
    for constraint in constraints:
        kind = constraint["type"]
        if kind == "include_word":
            passed = _normalize(constraint["word"]).casefold() in text.casefold()
        elif kind == "numbered_list":
            # A quoted list ("“1. a\n2. b”") still has its first item on the first line.
            body = unicodedata.normalize("NFKC", reply).strip().strip(_QUOTE_CHARS).strip()
            passed = sum(bool(_NUMBERED_LINE.match(line)) for line in body.splitlines()) == constraint["items"]
        elif kind == "end_with":
            passed = text.endswith(_normalize(constraint["text"]))
        elif kind == "quoted":
            opening, closing = _quote_parts(constraint["quote"])
            passed = len(text) > len(opening) + len(closing) and text.startswith(opening) and text.endswith(closing)
        elif kind == "repeat":
            passed = _normalize(constraint["text"]) in text
        elif kind == "response_language":
            passed = language_check(reply, constraint["lang"], candidates)
        else:
            raise ValueError(f"unknown instruction-following constraint type {kind!r} in reference {reference!r}")
        results[kind] = results.get(kind, True) and passed  # a type listed twice must pass both times
    return results


def constraint_accuracy(results: dict[str, bool]) -> float:
    """1.0 if every constraint passed, else 0.0: strict prompt-level accuracy, as IFEval's."""
    if not results:
        raise ValueError("no constraint results to score")
    return float(all(results.values()))


def constraint_fraction(results: dict[str, bool]) -> float:
    """The share of constraints passed (IFEval's instruction-level accuracy, per prompt)."""
    if not results:
        raise ValueError("no constraint results to score")
    return sum(results.values()) / len(results)
