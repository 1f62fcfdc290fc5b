"""Language data of the synthetic benchmark: loading, plural rules and a structural check.

Each language has one YAML file in ``languages/``; ``en.yaml`` is the reference whose structure (keys,
aligned list lengths, template placeholders) every other language must match.
"""

from __future__ import annotations

import re
import string
from functools import cache
from importlib import resources
from typing import Any

import yaml

LANGUAGES_PACKAGE = "xlt.synthetic.languages"
REFERENCE_LANGUAGE = "en"
NOUN_FORM_KEYS = {"zero", "one", "two", "few", "many", "other", "counter"}
# Scripts whose text must carry no Latin letters (a Japanese item with English left in it is a bug).
NON_LATIN_LANGUAGES = {"ja", "zh", "ko", "ar"}


def available_languages() -> list[str]:
    """ISO 639-1 codes with a language file, sorted."""
    files = resources.files(LANGUAGES_PACKAGE).iterdir()
    return sorted(f.name.removesuffix(".yaml") for f in files if f.name.endswith(".yaml"))


@cache
def load_language(lang: str) -> dict[str, Any]:
    """The parsed language file of ``lang``; raises ``KeyError`` naming the available ones."""
    if lang not in available_languages():
        raise KeyError(
            f"the synthetic benchmark has no language data for {lang!r}; "
            f"available: {', '.join(available_languages())}"
        )
    text = resources.files(LANGUAGES_PACKAGE).joinpath(f"{lang}.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


def plural_category(lang: str, n: int) -> str:
    """CLDR plural category of the integer ``n`` in ``lang`` (the subset our languages need)."""
    if lang in {"ja", "zh", "ko"}:
        return "other"
    if lang == "ar":
        if n == 0:
            return "zero"
        if n == 1:
            return "one"
        if n == 2:
            return "two"
        if 3 <= n % 100 <= 10:
            return "few"
        if 11 <= n % 100 <= 99:
            return "many"
        return "other"
    if lang in {"fr", "pt"}:
        return "one" if n in (0, 1) else "other"
    return "one" if n == 1 else "other"


def noun_form(lang: str, noun: dict[str, str], n: int) -> str:
    """The form of ``noun`` that goes with the number ``n``."""
    return noun.get(plural_category(lang, n), noun["other"])


def count_phrase(lang: str, noun: dict[str, str], n: int) -> str:
    """``n`` and ``noun`` combined as the language writes a counted noun ("5 apples", "りんご5個")."""
    data = load_language(lang)
    return data["count_phrase"].format(n=n, noun=noun_form(lang, noun, n), counter=noun.get("counter", ""))


def placeholders(template: str) -> set[str]:
    """Names of the ``{fields}`` in a format string."""
    return {field for _, field, _, _ in string.Formatter().parse(template) if field}


def _is_noun(value: Any) -> bool:
    return isinstance(value, dict) and "other" in value


def structure_errors(lang: str) -> list[str]:
    """Every way the language file of ``lang`` differs in structure from the reference file."""
    reference = load_language(REFERENCE_LANGUAGE)
    data = load_language(lang)
    errors: list[str] = []
    if data.get("lang") != lang:
        errors.append(f"lang: expected {lang!r}, found {data.get('lang')!r}")
    _compare(reference, data, "", errors)
    if lang in NON_LATIN_LANGUAGES:
        for path, text in _strings(data, ""):
            if path == "lang":
                continue
            if re.search(r"[A-Za-z]", text):
                errors.append(f"{path}: Latin letters in {lang} text: {text!r}")
    return errors


def _compare(ref: Any, got: Any, path: str, errors: list[str]) -> None:
    where = path or "<root>"
    if _is_noun(ref):
        if not _is_noun(got):
            errors.append(f"{where}: expected a noun mapping with an 'other' form, found {got!r}")
            return
        unknown = set(got) - NOUN_FORM_KEYS
        if unknown:
            errors.append(f"{where}: unknown noun form keys {sorted(unknown)}")
        return
    if isinstance(ref, dict):
        if not isinstance(got, dict):
            errors.append(f"{where}: expected a mapping, found {type(got).__name__}")
            return
        for key in ref.keys() - got.keys():
            errors.append(f"{path}.{key}: missing".lstrip("."))
        for key in got.keys() - ref.keys():
            errors.append(f"{path}.{key}: not in the reference language file".lstrip("."))
        for key in ref.keys() & got.keys():
            _compare(ref[key], got[key], f"{path}.{key}".lstrip("."), errors)
        return
    if isinstance(ref, list):
        if not isinstance(got, list):
            errors.append(f"{where}: expected a list, found {type(got).__name__}")
            return
        if len(ref) != len(got):
            errors.append(f"{where}: {len(got)} entries, the reference has {len(ref)} (lists are aligned)")
        for i, (r, g) in enumerate(zip(ref, got)):
            _compare(r, g, f"{where}[{i}]", errors)
        if all(isinstance(g, str) for g in got) and len(set(got)) != len(got):
            errors.append(f"{where}: duplicate entries")
        return
    if isinstance(ref, str):
        if not isinstance(got, str) or (ref.strip() and not got.strip()):
            errors.append(f"{where}: expected a non-empty string, found {got!r}")
            return
        if where == "count_phrase":  # counter words (ja/zh/ko) are optional
            if not {"n", "noun"} <= placeholders(got) <= {"n", "noun", "counter"}:
                errors.append(f"count_phrase: needs {{n}} and {{noun}}, may have {{counter}}; found {got!r}")
        elif placeholders(ref) != placeholders(got):
            errors.append(
                f"{where}: placeholders {sorted(placeholders(got))} differ from the reference's "
                f"{sorted(placeholders(ref))}"
            )


def _strings(value: Any, path: str):
    if isinstance(value, dict):
        for key, sub in value.items():
            yield from _strings(sub, f"{path}.{key}".lstrip("."))
    elif isinstance(value, list):
        for i, sub in enumerate(value):
            yield from _strings(sub, f"{path}[{i}]")
    elif isinstance(value, str):
        # Placeholders are code, not language text.
        yield path, re.sub(r"\{[a-z_0-9]*\}", "", value)


if __name__ == "__main__":  # python -m xlt.synthetic.lexicon [lang ...]
    import sys

    failed = False
    for code in sys.argv[1:] or available_languages():
        problems = structure_errors(code)
        failed |= bool(problems)
        print(f"{code}: {'OK' if not problems else f'{len(problems)} problems'}")
        for problem in problems:
            print(f"  - {problem}")
    sys.exit(1 if failed else 0)
