"""Scoring for the study's three task kinds: ROUGE-L with language-aware tokens, numeric answers for math, and the
machine-checkable constraints of instruction following, including whether a reply is in the prompt's language.
Reading numbers is ``xlt.numbers``; scripts and language identification are ``xlt.langid``."""

from __future__ import annotations

import functools
import json
import re
import unicodedata

from rouge_score import rouge_scorer, tokenizers

from xlt.langid import is_cjk, is_word_char, language_check, word_runs
from xlt.numbers import answer_readings, extract_number

# ---- ROUGE-L -----------------------------------------------------------------------------------------------


def tokenize_for_rouge(text: str, lang: str) -> list[str]:
    """ROUGE tokens: one per Han/kana character for zh and ja (runs of Latin letters or digits inside them stay
    one token), one per whitespace-separated eojeol for ko, one per word (letters, marks, digits) otherwise.
    Lower-cased, punctuation and symbols dropped, NFKC-normalized so full-width and compatibility forms match
    their plain spelling."""
    text = unicodedata.normalize("NFKC", text).lower()
    if lang in ("zh", "ja"):
        tokens = []
        for run in word_runs(text):
            pending = ""
            for ch in run:
                if is_cjk(ch):
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
        eojeol = ("".join(ch for ch in chunk if is_word_char(ch)) for chunk in text.split())
        return [word for word in eojeol if word]
    return word_runs(text)


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


def math_correct(prediction: str, reference: str) -> bool:
    """Whether the final number in ``prediction`` equals the numeric ``reference`` (|difference| < 1e-6)."""
    try:
        gold = float(reference)
    except ValueError:
        gold = extract_number(reference)
        if gold is None:
            raise ValueError(f"math reference {reference!r} has no number") from None
    readings = answer_readings(prediction)
    return readings is not None and any(abs(value - gold) < 1e-6 for value in readings)


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
