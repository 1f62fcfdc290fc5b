"""Reading numbers in free text, in any of the study's languages and scripts: the final answer of a math reply
(MGSM-style), with thousands groups and decimal commas told apart where they can be and both readings kept where
they cannot."""

from __future__ import annotations

import re
import unicodedata

# Answer phrases in the study's languages: "the answer is", "Answer:", "final answer", their es/fr/pt/ja/zh/ko/ar
# forms, LaTeX's \boxed{} and GSM8K's "#### ". The answer is read from the sentence after the last one. Accents
# are matched after NFC, so decomposed input works too.
_BOLD = r"(?:\*\*|__)?"  # Markdown emphasis around the phrase: "**Answer**: 18", "**Final Answer:** 18"
_ANSWER_MARKER = re.compile(
    rf"(?:final\s+)?answer{_BOLD}\s*(?:is\b|[:：])|respuesta(?:\s+(?:final|correcta))?{_BOLD}\s*(?:es\b|[:：])"
    rf"|r[ée]ponse(?:\s+finale)?{_BOLD}\s*(?:est\b|[:：])|resposta(?:\s+(?:final|correta))?{_BOLD}\s*(?:é|[:：])"
    r"|(?:最终)?答案(?:是|为|[:：])|(?:最終的な)?答え(?:は|[:：])|(?:최종\s*)?(?:정답|답)(?:은|는|[:：])"
    r"|ال[إا]جابة(?:\s+(?:النهائية|الصحيحة))?\s*(?:هي|[:：])|الجواب\s*(?:هو|[:：])|\\boxed\{|^####",
    re.IGNORECASE | re.MULTILINE,
)
# Where the answer's sentence ends: a line break, or sentence punctuation before a space or the end.
_SENTENCE_END = re.compile(r"\n|[.!?;。！？；](?=\s|$)")
# Arithmetic: numbers, operators, brackets and currency signs ("2 × (4 + 5)", "$9 * 2"); the text that ends in it.
_ARITHMETIC = r"[\d\s.,+\-*/×x÷^()\[\]$€£¥%]"
_EXPRESSION = re.compile(rf"{_ARITHMETIC}*")
_EXPRESSION_AT_END = re.compile(rf"{_ARITHMETIC}*$")
# CJK myriad units after digits: 7万 = 70,000, 1万2000 = 12,000, 3만 5천 = 35,000, 2千万 = 20,000,000; 千 before
# a unit is kilo- (5千克 is 5 kg, 3千米 3 km).
_UNITS = {"千": 1e3, "천": 1e3, "万": 1e4, "萬": 1e4, "만": 1e4, "亿": 1e8, "億": 1e8, "억": 1e8}
_UNIT = r"(?:千(?![克米瓦卡焦])|[천万萬만亿億억])"
_UNIT_GROUP = rf"\d[\d,]*(?:\.\d+)?\s?{_UNIT}+"
_UNIT_NUMBER = re.compile(rf"{_UNIT_GROUP}(?:\s?{_UNIT_GROUP})*(?:\s?(?:\d{{1,3}}(?:,\d{{3}})+|\d+)(?![\d.,]))?")
_SPACE_GROUP = "\u0020\u00a0\u2009\u202f"  # space, no-break, thin and narrow no-break space (French "1 234")
# A signed digit run with inner separators. A minus right after a digit, Latin letter or closing bracket is
# subtraction or a hyphen ("43-38", "x-5"), not a sign.
_NUMBER_RUN = re.compile(rf"(?P<sign>(?<![0-9A-Za-z)\]])-)?(?P<body>\d+(?:[.,{_SPACE_GROUP}]\d+)*)")
_SINGLE_NUMBER = re.compile(rf"[$€£¥]?\s?{_NUMBER_RUN.pattern}\s?%?")  # one number, maybe with currency or %
_THOUSANDS = re.compile(r"[1-9]\d{0,2}(?:([.,])\d{3})(?:\1\d{3})*")  # 1,234 / 12.345.678, one separator kind


def _normalize_digits(text: str) -> str:
    """Any script's decimal digits as ASCII, Unicode minus signs as "-", Arabic decimal/thousands separators as
    "." and ",", a full-width comma as "," where it groups thousands. Other punctuation is left alone: a Chinese
    "，" elsewhere or an Arabic "،" separates list items, not digits."""
    out = []
    for ch in unicodedata.normalize("NFC", text):
        digit = unicodedata.decimal(ch, None)
        if digit is not None:
            out.append(str(digit))
        else:
            out.append({"\u2212": "-", "\uff0d": "-", "\u066b": ".", "\u066c": ",", "\uff0e": "."}.get(ch, ch))
    # A full-width comma before exactly three digits groups thousands (1，234); elsewhere it separates items.
    return re.sub(r"(?<=\d)\uff0c(?=\d{3}(?!\d))", ",", "".join(out))


def _unit_value(match: re.Match) -> str:
    """The plain digits of a number written with CJK myriad units."""
    total = 0.0
    for number, units in re.findall(rf"(\d[\d,]*(?:\.\d+)?)\s?({_UNIT}*)", match[0]):
        value = float(number.replace(",", ""))
        for unit in units:
            value *= _UNITS[unit]
        total += value
    return f"{total:.0f}" if total == int(total) else f"{total}"


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


def _answer_in(sentence: str) -> list[float] | None:
    """The answer an answer phrase's sentence gives: its first number, unless the sentence opens with a chain of
    expressions joined by "=" ("9 * 2 = 18", "2 × (4 + 5) = 18", "John has 3 + 4 = 7 apples", "18 = 6 x 3"): then
    the chain's last link that is a single number. A number said before the chain is the answer ("18, since 20 =
    2 + 18"), as is the number a bracket explains ("18 (3 bags of 6)")."""
    sentence = sentence.lstrip(" :：*_")
    numbers = _numbers(sentence)
    if not numbers:
        return None
    head, equals, tail = sentence.partition("=")
    start = _EXPRESSION_AT_END.search(head).start()
    if equals and not _numbers(head[:start]):
        *middle, last = tail.split("=")
        if all(_EXPRESSION.fullmatch(link) for link in middle):
            chain = [head[start:], *middle, _EXPRESSION.match(last)[0]]
            single = [link for link in chain if _SINGLE_NUMBER.fullmatch(link.strip())]
            if single:
                return _numbers(single[-1])[0][1]
    return numbers[0][1]


def answer_readings(text: str) -> list[float] | None:
    """Readings of the answer in free text: from the sentence after the last answer phrase (see ``_answer_in``),
    else the first number after that phrase, else the text's last number."""
    text = _UNIT_NUMBER.sub(_unit_value, _normalize_digits(text))
    numbers = _numbers(text)
    if not numbers:
        return None
    markers = list(_ANSWER_MARKER.finditer(text))
    if markers:
        rest = text[markers[-1].end():]
        end = _SENTENCE_END.search(rest)
        answer = _answer_in(rest[:end.start()] if end else rest)
        if answer is None:
            after = _numbers(rest)
            answer = after[0][1] if after else None
        if answer is not None:
            return answer
    return numbers[-1][1]


def extract_number(text: str) -> float | None:
    """The final numeric answer in ``text`` (any of en es fr pt ja zh ko ar), or None if it has no number.

    The answer phrase's number wins (``answer_readings``), else the last number. Digits of any
    script count; "1,234", "1.234", "1 234" are thousands groups, "3,5" a decimal comma. A single separator
    before exactly three digits is ambiguous ("1.234"): this returns the thousands reading, and
    ``math_correct`` accepts either reading.
    """
    readings = answer_readings(text)
    return readings[0] if readings else None
