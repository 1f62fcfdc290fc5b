"""Reading numbers in free text, in any of the study's languages and scripts: the final answer of a math reply
(MGSM-style), with thousands groups and decimal commas told apart where they can be and both readings kept where
they cannot."""

from __future__ import annotations

import re
import unicodedata

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


def answer_readings(text: str) -> list[float] | None:
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
    readings = answer_readings(text)
    return readings[0] if readings else None
