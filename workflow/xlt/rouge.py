"""ROUGE-L F1 in two variants, named by their tokenization, both on rouge_score's longest common subsequence:

- ``rouge_l_xlsum``: XL-Sum's multilingual ROUGE (Hasan et al. 2021, the scorer published XL-Sum numbers use):
  lower-cased, punctuation removed by Unicode category, words segmented with jieba for Chinese and MeCab
  (UniDic-lite) for Japanese, OpenNMT's aggressive tokenizer elsewhere, and Snowball stems of words longer than
  three characters where Snowball has the language (en es fr pt ar ...; ko, zh, ja are unstemmed). It differs
  from XL-Sum's scorer in one documented way: XL-Sum leaves NLTK's stopwords unstemmed, a corpus that is a
  separate download offline machines lack, so here every word is stemmed (``bench/rouge_reference.py`` measures
  the agreement). Scores compare with the XL-Sum literature.
- ``rouge_l_script``: script-aware and unstemmed, no segmenter: one token per Han/kana character for zh and ja,
  per eojeol for ko, per Unicode word otherwise; Arabic diacritics and tatweel dropped and alef/hamza forms
  unified. Comparable across languages of one script, not with published XL-Sum numbers.
"""

from __future__ import annotations

import functools
import logging
import unicodedata

from rouge_score import rouge_scorer, tokenizers

from xlt.langid import is_cjk, is_word_char, word_runs
from xlt.registry import XLSUM_UNREPRODUCED

# ---- the script-aware tokens -----------------------------------------------------------------------------------

# Harakat, tanwin, shadda, sukun, superscript alef and Quranic marks; tatweel (ـ) only stretches a word.
_ARABIC_MARKS = {chr(cp) for cp in (*range(0x064B, 0x0660), 0x0670, *range(0x06D6, 0x06EE), 0x0640)}
# Alef with hamza above/below, madda and wasla are all written plain alef in much text; alef maksura as ya.
_ARABIC_LETTERS = str.maketrans({"أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ى": "ي"})


def normalize_arabic(text: str) -> str:
    """Arabic text as commonly spelled: diacritics and tatweel dropped, alef variants as plain alef, alef maksura
    as ya. Other scripts pass unchanged."""
    return "".join(ch for ch in text if ch not in _ARABIC_MARKS).translate(_ARABIC_LETTERS)


def script_tokens(text: str, lang: str) -> list[str]:
    """``rouge_l_script``'s tokens: one per Han/kana character for zh and ja (runs of Latin letters or digits
    inside them stay one token), one per whitespace-separated eojeol for ko (particles stay attached: 팀이 !=
    팀을), one per word (letters, marks, digits) otherwise. NFKC-normalized (full-width forms match their plain
    spelling), lower-cased, Arabic normalized, punctuation and symbols dropped."""
    text = normalize_arabic(unicodedata.normalize("NFKC", text).lower())
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
        eojeol = ("".join(ch for ch in chunk if is_word_char(ch)) for chunk in text.split())
        return [word for word in eojeol if word]
    return word_runs(text)


# ---- XL-Sum's tokens -------------------------------------------------------------------------------------------

# The Snowball stemmers XL-Sum uses, by ISO 639-1 code (XL-Sum names languages in English).
SNOWBALL_LANGUAGES = {"ar": "arabic", "da": "danish", "de": "german", "en": "english", "es": "spanish",
                      "fi": "finnish", "fr": "french", "hu": "hungarian", "it": "italian", "nl": "dutch",
                      "no": "norwegian", "pt": "portuguese", "ro": "romanian", "ru": "russian", "sv": "swedish"}
_MIN_STEM_LENGTH = 3  # XL-Sum stems only words longer than this


def _is_punctuation(ch: str) -> bool:
    # As BERT's basic tokenizer, which XL-Sum's scorer uses: every non-alphanumeric ASCII character, and Unicode P*.
    cp = ord(ch)
    return 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126 or unicodedata.category(ch)[0] == "P"


def _without_punctuation(text: str) -> str:
    """Words separated by single spaces: control characters dropped, whitespace unified, punctuation removed and
    splitting the word it was in."""
    cleaned = []
    for ch in text:
        if ch in " \t\n\r" or unicodedata.category(ch) == "Zs":
            cleaned.append(" ")
        elif ch == "\x00" or ch == "\ufffd" or unicodedata.category(ch)[0] == "C":
            continue
        else:
            cleaned.append(" " if _is_punctuation(ch) else ch)
    return " ".join("".join(cleaned).split())


def _is_han(ch: str) -> bool:
    cp = ord(ch)
    return any(low <= cp <= high for low, high in ((0x4E00, 0x9FFF), (0x3400, 0x4DBF), (0x20000, 0x2A6DF),
                                                   (0x2A700, 0x2CEAF), (0xF900, 0xFAFF), (0x2F800, 0x2FA1F)))


@functools.cache
def _segmenter(lang: str):
    """The word segmenter XL-Sum uses for ``lang`` (zh: jieba, ja: MeCab with UniDic-lite), or None."""
    if lang == "zh":
        import jieba

        jieba.setLogLevel(logging.WARNING)
        jieba.initialize()
        return lambda text: list(jieba.cut(text))  # its whitespace tokens count, as in XL-Sum's scorer
    if lang == "ja":
        import fugashi
        import unidic_lite

        # The dictionary named explicitly: an installed but undownloaded `unidic` package would otherwise win.
        tagger = fugashi.Tagger(f"-O wakati -b 50000 -d {unidic_lite.DICDIR}")
        return lambda text: tagger.parse(text).split()
    return None


@functools.cache
def _onmt_tokenizer():
    import pyonmttok

    return pyonmttok.Tokenizer("aggressive")


@functools.cache
def _stemmer(lang: str):
    if lang not in SNOWBALL_LANGUAGES:
        return None
    from nltk.stem import SnowballStemmer

    return SnowballStemmer(SNOWBALL_LANGUAGES[lang]).stem


def xlsum_tokens(text: str, lang: str) -> list[str]:
    """``rouge_l_xlsum``'s tokens: XL-Sum's multilingual ROUGE tokenization and stemming of ``text`` in ``lang``."""
    if lang in XLSUM_UNREPRODUCED:
        raise ValueError(f"rouge_l_xlsum does not reproduce XL-Sum's scorer for {lang!r}, which uses "
                         f"{XLSUM_UNREPRODUCED[lang]}: score it with rouge_l_script")
    text = _without_punctuation(text.lower().strip())
    segment = _segmenter(lang)
    tokens = segment(text) if segment and text else []
    if not tokens and text:
        pieces = " ".join(_onmt_tokenizer().tokenize(text)[0])
        tokens = "".join(f" {ch} " if _is_han(ch) else ch for ch in pieces).split()
    stem = _stemmer(lang)
    if stem:
        tokens = [stem(token) if len(token) > _MIN_STEM_LENGTH else token for token in tokens]
    return [token for token in tokens if token]


# ---- ROUGE-L ---------------------------------------------------------------------------------------------------

TOKENIZERS = {"rouge_l_xlsum": xlsum_tokens, "rouge_l_script": script_tokens}


class _Tokenizer(tokenizers.Tokenizer):
    """The ``tokenize(text)`` object rouge_score's scorer calls."""

    def __init__(self, variant: str, lang: str):
        self.tokens, self.lang = TOKENIZERS[variant], lang

    def tokenize(self, text: str) -> list[str]:
        return self.tokens(text, self.lang)


@functools.cache
def _scorer(variant: str, lang: str) -> rouge_scorer.RougeScorer:
    return rouge_scorer.RougeScorer(["rougeL"], tokenizer=_Tokenizer(variant, lang))


def rouge_l(prediction: str, reference: str, lang: str, variant: str) -> float:
    """ROUGE-L F1 of ``prediction`` against ``reference`` on ``variant``'s tokens (0.0 if either has none)."""
    if variant not in TOKENIZERS:
        raise ValueError(f"unknown ROUGE-L variant {variant!r} (known: {', '.join(TOKENIZERS)})")
    return _scorer(variant, lang).score(reference, prediction)["rougeL"].fmeasure
