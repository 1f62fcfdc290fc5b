"""Scoring metrics: language-aware ROUGE-L, numeric answers, instruction-following constraints, language check."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rouge_score import rouge_scorer

from xlt.langid import detect_language, language_check
from xlt.metrics import (
    check_constraints,
    constraint_accuracy,
    constraint_fraction,
    math_correct,
    rouge_l,
    tokenize_for_rouge,
)
from xlt.numbers import extract_number
from xlt.synthetic.benchmark import build_benchmark

ROOT = Path(__file__).resolve().parent.parent
LANGS = ["en", "es", "fr", "pt", "ja", "zh", "ko", "ar"]
XLT_ROUGE = ROOT / "workflow" / "xlt" / "evaluate_modules" / "xlt_rouge"


@pytest.fixture(scope="module")
def items():
    """40 synthetic instruction-following items in every language: {source_id: {lang: (reply, reference)}}."""
    table = build_benchmark("if", "instruction_following", 0, {"train": 0, "validation": 0, "test": 40}, LANGS)
    by_source: dict[str, dict[str, tuple[str, str]]] = {}
    for row in table.to_dicts():
        by_source.setdefault(row["source_id"], {})[row["lang"]] = (row["messages"][-1]["content"], row["reference"])
    return by_source


def find(items, lang: str, *types: str) -> tuple[str, str, dict[str, tuple[str, str]]]:
    """The first item whose reference has all ``types``: (reply, reference, all its languages)."""
    for languages in items.values():
        reply, reference = languages[lang]
        present = {c["type"] for c in json.loads(reference)["constraints"]}
        if set(types) <= present:
            return reply, reference, languages
    raise LookupError(f"no {lang} item with constraints {types}")


# ---- ROUGE-L -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("lang, text", [
    ("ja", "木曜日、金沢のチームが熊本のチームに3対0で勝ちました。"),
    ("zh", "星期四，成都队以3比0战胜了大连队。"),
    ("ar", "تغلّب فريق إربد على فريق تطوان بنتيجة 3 مقابل 0 يوم الخميس."),
    ("ko", "목요일에 청주 팀이 안동 팀을 상대로 3대 0 승리를 거두었습니다."),
])
def test_identical_strings_score_one(lang, text):
    assert rouge_l(text, text, lang) == 1.0


def test_stock_rouge_tokenizer_scores_identical_chinese_zero():
    # Why we pass our own tokenizer: rouge_score keeps only [a-z0-9], so Chinese has no tokens at all.
    text = "城市从来不会真正入睡。"
    stock = rouge_scorer.RougeScorer(["rougeL"]).score(text, text)["rougeL"].fmeasure
    assert stock == 0.0
    assert rouge_l(text, text, "zh") == 1.0


def test_chinese_pair_scores_character_lcs():
    # reference 今 天 天 气 很 好 (6), prediction 今 天 天 气 不 好 (6; "。" is not a token);
    # LCS 今天天气好 = 5, so P = R = 5/6 and F1 = 5/6.
    assert tokenize_for_rouge("今天天气不好。", "zh") == ["今", "天", "天", "气", "不", "好"]
    assert rouge_l("今天天气不好。", "今天天气很好", "zh") == pytest.approx(5 / 6)


def test_arabic_pair_keeps_words_with_diacritics_whole():
    # `\w+` would cut تغلّب at the shadda (a combining mark) into two tokens.
    assert tokenize_for_rouge("تغلّب فريق", "ar") == ["تغلّب", "فريق"]
    # reference: تغلّب فريق إربد على فريق تطوان (6 words); prediction drops the second فريق (5 words);
    # LCS = 5, P = 5/5, R = 5/6, F1 = 2 * 1 * 5/6 / (1 + 5/6) = 10/11.
    reference = "تغلّب فريق إربد على فريق تطوان."
    prediction = "تغلّب فريق إربد على تطوان"
    assert rouge_l(prediction, reference, "ar") == pytest.approx(10 / 11)


def test_korean_pair_scores_eojeol():
    # reference 청주 / 팀이 / 안동 / 팀을 / 이겼습니다 (5 eojeol); the prediction has 팀에게 for 팀을:
    # LCS = 4, P = R = 4/5, F1 = 0.8. Particles make distinct tokens at the eojeol level.
    assert tokenize_for_rouge("청주 팀이 안동 팀을 이겼습니다.", "ko") == ["청주", "팀이", "안동", "팀을", "이겼습니다"]
    assert rouge_l("청주 팀이 안동 팀에게 이겼습니다", "청주 팀이 안동 팀을 이겼습니다.", "ko") == pytest.approx(0.8)


def test_spaced_scripts_keep_accented_words_and_fold_case():
    assert tokenize_for_rouge("La canción MÁS bonita, ¿no?", "es") == ["la", "canción", "más", "bonita", "no"]
    # reference: l / équipe / a / battu / fontenay (5); prediction: l / équipe / a / perdu / contre / fontenay (6);
    # LCS = 4 (l équipe a fontenay), P = 4/6, R = 4/5, F1 = 2 * (2/3) * (4/5) / (2/3 + 4/5) = 8/11.
    assert rouge_l("L'équipe a perdu contre Fontenay", "L'équipe a battu Fontenay.", "fr") == pytest.approx(8 / 11)


# ---- numeric answers -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("text, expected", [
    ("Emma had 43 eggs and gave away 38, so 43 - 38 = 5. The answer is 5.", 5),
    ("Si se reparten 63 coches entre 9 amigos, cada uno recibe 63 ÷ 9 = 7. La respuesta es 7.", 7),
    ("On partage 7 litres en 2 : 7 ÷ 2 = 3,5. La réponse est 3,5.", 3.5),  # decimal comma
    ("São 1.234 pessoas no total. A resposta é 1.234.", 1234),  # dot thousands group
    ("伊藤さんは卵４３個を持っていて、４３ - ３８ = ５です。答えは５です。", 5),  # full-width digits
    ("总数是1,234。答案是1,234。", 1234),  # comma thousands group
    ("기온은 3도에서 10도 내려갔으므로 3 - 10 = -7입니다. 답은 -7입니다.", -7),
    ("أعطى خالد ٣٨ بيضة من ٤٣، إذن ٤٣ - ٣٨ = ٥. الإجابة هي ٥.", 5),  # Arabic-Indic digits
    ("الاجابة هي ۱۲۰", 120),  # Extended Arabic-Indic digits, alef without hamza
    ("The answer is 18. Check: 18 × 2 = 36.", 18),  # the marker beats a later number
    ("La réponse est 1\u202f234,5 euros.", 1234.5),  # narrow no-break space groups, decimal comma
    ("She pays $1,234.50 in total.", 1234.5),
    ("Unos 1.234.567,8 litros", 1234567.8),
    ("The answer is \\boxed{12}, not 13.", 12),
    ("So 7 + 8 = 15", 15),  # no marker: the last number
    ("The numbers are 3,4,5", 5),  # not a number format: a list
    ("0,125 of it", 0.125),  # a leading 0 is never a thousands group
])
def test_extract_number(text, expected):
    assert extract_number(text) == pytest.approx(expected)


def test_extract_number_without_a_number_is_none():
    assert extract_number("I do not know.") is None


def test_math_correct():
    assert math_correct("43 - 38 = 5. The answer is 5.", "5")
    assert not math_correct("43 - 38 = 6. The answer is 6.", "5")
    assert math_correct("La réponse est 3,5.", "3.5")
    assert math_correct("A resposta é 1.234.", "1234")
    # A single separator before three digits reads both ways; an English decimal answer still counts.
    assert math_correct("The answer is 3.142.", "3.142")
    assert not math_correct("No idea.", "5")
    with pytest.raises(ValueError, match="no number"):
        math_correct("The answer is 5.", "five")


# ---- language identification -----------------------------------------------------------------------------------


def test_detect_language():
    assert detect_language("12345", LANGS) is None
    assert detect_language("1. 2. 3.", LANGS) is None
    assert detect_language("La ciudad nunca duerme del todo.", LANGS) == "es"
    assert detect_language("都会は決して眠りません。", LANGS) == "ja"
    with pytest.raises(ValueError, match="at least two"):
        detect_language("hello", ["en"])
    with pytest.raises(ValueError, match="xx"):
        detect_language("hello", ["en", "xx"])


def test_language_check_is_line_level():
    spanish = "La ciudad nunca duerme del todo.\nSus calles están llenas de gente de la mañana a la noche."
    assert language_check(spanish, "es", LANGS)
    # One long English line in an otherwise Spanish reply is a switch.
    assert not language_check(spanish + "\nI hope this helps you with your writing.", "es", LANGS)
    # Short lines carry no reliable statistics; the short reply is checked by script.
    assert language_check("1. 医師\n2. 農家", "ja", LANGS)
    assert not language_check("1. doctor\n2. farmer", "ja", LANGS)
    assert not language_check("", "en", LANGS)


# ---- instruction-following constraints ----------------------------------------------------------------------


def test_reference_replies_pass_every_constraint(items):
    seen = set()
    for source_id, languages in items.items():
        for lang, (reply, reference) in languages.items():
            results = check_constraints(reply, reference, LANGS)
            assert all(results.values()), (source_id, lang, reply, results)
            assert constraint_accuracy(results) == 1.0
            seen |= set(results)
    assert seen == {"include_word", "numbered_list", "end_with", "quoted", "repeat", "response_language"}


def test_missing_word_fails_include_word(items):
    reply, reference, _ = find(items, "es", "include_word")
    word = next(c["word"] for c in json.loads(reference)["constraints"] if c["type"] == "include_word")
    results = check_constraints(reply.replace(word, "avenidas"), reference, LANGS)
    assert results["include_word"] is False
    assert sum(not passed for passed in results.values()) == 1


@pytest.mark.parametrize("lang", ["en", "ar", "ja"])
def test_wrong_item_count_fails_numbered_list(items, lang):
    reply, reference, _ = find(items, lang, "numbered_list")
    results = check_constraints(reply.rsplit("\n", 1)[0], reference, LANGS)  # last item dropped
    assert results["numbered_list"] is False
    assert results["response_language"] is True


def test_quoted_list_counts_its_items(items):
    reply, reference, _ = find(items, "fr", "numbered_list", "quoted")
    assert reply.startswith("«")
    assert check_constraints(reply, reference, LANGS)["numbered_list"] is True


@pytest.mark.parametrize("lang", ["en", "fr", "ja"])
def test_unquoted_reply_fails_quoted(items, lang):
    reply, reference, _ = find(items, lang, "repeat", "quoted")
    quote = next(c["quote"] for c in json.loads(reference)["constraints"] if c["type"] == "quoted")
    opening, closing = quote.split("{text}")
    unquoted = reply.removeprefix(opening).removesuffix(closing)
    results = check_constraints(unquoted, reference, LANGS)
    assert results == {"repeat": True, "quoted": False, "response_language": True}
    assert constraint_accuracy(results) == 0.0
    assert constraint_fraction(results) == pytest.approx(2 / 3)


def test_missing_closing_fails_end_with(items):
    reply, reference, _ = find(items, "ko", "end_with")
    results = check_constraints(reply.rsplit("\n", 1)[0], reference, LANGS)
    assert results["end_with"] is False


@pytest.mark.parametrize("kind", ["repeat", "numbered_list"])
def test_english_reply_to_japanese_prompt_fails_response_language(items, kind):
    _, reference, languages = find(items, "ja", kind)
    english_reply = languages["en"][0]
    assert check_constraints(english_reply, reference, LANGS)["response_language"] is False


@pytest.mark.parametrize("reply_lang, prompt_lang", [("en", "es"), ("zh", "ja"), ("ja", "zh"), ("ko", "ar")])
def test_sentence_in_another_language_fails_response_language(items, reply_lang, prompt_lang):
    _, reference, languages = find(items, prompt_lang, "repeat")
    assert check_constraints(languages[reply_lang][0], reference, LANGS)["response_language"] is False


def test_unknown_constraint_type_is_an_error():
    reference = json.dumps({"lang": "en", "constraints": [{"type": "word_count", "max": 50}]})
    with pytest.raises(ValueError, match="word_count"):
        check_constraints("Hello.", reference, LANGS)


def test_constraint_scores():
    assert constraint_accuracy({"a": True, "b": True}) == 1.0
    assert constraint_accuracy({"a": True, "b": False}) == 0.0
    assert constraint_fraction({"a": True, "b": False, "c": True, "d": False}) == 0.5
    with pytest.raises(ValueError):
        constraint_accuracy({})


# ---- the evaluate module ---------------------------------------------------------------------------------------


def test_evaluate_module_loads_offline_and_matches_rouge_l():
    import sys

    import evaluate

    metric = evaluate.load(str(XLT_ROUGE))  # conftest: HF_HUB_OFFLINE=1, HF_HOME in a temp dir
    pairs = [("今天天气不好。", "今天天气很好", "zh"),
             ("تغلّب فريق إربد على تطوان", "تغلّب فريق إربد على فريق تطوان.", "ar"),
             ("The team won.", "The team won.", "en")]
    predictions, references, langs = map(list, zip(*pairs, strict=True))
    score = metric.compute(predictions=predictions, references=references, langs=langs)
    assert score["rougeL"] == pytest.approx(sum(rouge_l(*pair) for pair in pairs) / len(pairs))
    # evaluate runs a copy from its cache; the copy must still find this checkout's xlt package.
    module = sys.modules[type(metric).__module__]
    assert Path(module.__file__).resolve().parent != XLT_ROUGE
    assert module._checkout_workflow_dir() == ROOT / "workflow"
