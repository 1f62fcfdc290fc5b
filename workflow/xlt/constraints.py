"""The machine-checkable constraints of instruction following (IFEval style): the checks of one reply against the
constraints its reference lists, and the prompt-level (strict) and instruction-level accuracies."""

from __future__ import annotations

import json
import re
import unicodedata

from xlt.langid import language_check

# A numbered list item: "1. ", "1) ", "1、", "1.東京", "1. 5 apples", Markdown bold "**1.** ", "**1**. " and
# "**1. Title**", after NFKC (so "１．" is "1."); "1.5 kg" is a decimal, not an item.
_NUMBERED_LINE = re.compile(r"^\s*(?:\*\*|__)?\d+(?:\*\*|__)?(?:[.)](?:\*\*|__)?(?:\s+\S|[^\d\s])|、\s*\S)")
# Quotation mark pairs of the study's languages and their common neighbours; ASCII quotes count in every language,
# as a reply typed on any keyboard uses them.
QUOTE_PAIRS = frozenset({('"', '"'), ("'", "'"), ("“", "”"), ("”", "”"), ("„", "“"), ("„", "”"), ("‚", "‘"),
                         ("‘", "’"), ("«", "»"), ("»", "«"), ("‹", "›"), ("「", "」"), ("『", "』")})


def _normalize(text: str) -> str:
    # NFC so a reply with decomposed accents still matches; whitespace runs collapsed so a re-wrapped sentence
    # still counts as repeated.
    return re.sub(r"\s+", " ", unicodedata.normalize("NFC", text)).strip()


def _quoted(text: str, quote: str) -> bool:
    """Whether ``text`` is wrapped in one pair of quotation marks: the language's own (``quote`` is its
    ``"«{text}»"`` template) or any pair of ``QUOTE_PAIRS``, with something inside."""
    opening, _, closing = quote.partition("{text}")
    pairs = {(opening.strip(), closing.strip()), *QUOTE_PAIRS}
    return any(len(text) > len(o) + len(c) and text.startswith(o) and text.endswith(c) and text[len(o):-len(c)].strip()
               for o, c in pairs if o and c)


def _unquoted(text: str) -> str:
    """``text`` without one surrounding pair of quotation marks."""
    if len(text) >= 2 and (text[0], text[-1]) in QUOTE_PAIRS:
        return text[1:-1].strip()
    return text


def numbered_items(reply: str) -> int:
    """How many lines of ``reply`` are numbered list items (a quoted list counts its items too)."""
    body = _unquoted(unicodedata.normalize("NFKC", reply).strip())
    return sum(bool(_NUMBERED_LINE.match(line)) for line in body.splitlines())


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
            passed = numbered_items(reply) == constraint["items"]
        elif kind == "end_with":
            passed = text.endswith(_normalize(constraint["text"]))
        elif kind == "quoted":
            passed = _quoted(text, constraint["quote"])
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
