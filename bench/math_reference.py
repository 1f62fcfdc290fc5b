"""xlt's math answer reading against the field's two MGSM answer extractors, on realistic replies with known answers.

The references, restated from their published behaviour (not their code):

- **simple-evals** (OpenAI's MGSM eval, whose prompt asks for a last line "Answer: <integer>"): the text after
  the last localized "Answer" prefix (case-sensitive), commas removed, and the last number in it; no prefix, no
  answer.
- **lm-eval flexible-extract** (lm-evaluation-harness's MGSM/GSM8K fallback filter): the last run of digits,
  dots, commas and dollar signs in the reply (``-?[$0-9.,]{2,}|-?[0-9]+``), with ``$`` and ``,`` dropped.

Each reply is a chain-of-thought in one of the study's languages, in the formats models write: "The answer is
18.", "Answer: 18 (...)", "final answer" phrasings, expressions after the answer phrase, checks after the answer,
thousands separators of several conventions, CJK myriad units. The replies are written to cover those formats,
not sampled from a model, so the rates say which formats each extractor reads, not how often models write
them. Prints each extractor's accuracy against the
known answers per language, and the replies where xlt and a reference disagree.

    python bench/math_reference.py
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "workflow"))

from xlt.metrics import math_correct  # noqa: E402

# simple-evals' localized answer prefixes for the study's languages (ko/pt/ar are not MGSM languages: their
# "Answer" word is used).
ANSWER_PREFIXES = {"en": "Answer", "es": "Respuesta", "fr": "Réponse", "pt": "Resposta", "ja": "答え",
                   "zh": "答案", "ko": "답", "ar": "الإجابة"}

# (lang, reply, answer)
REPLIES = [
    ("en", "Janet has 16 eggs. She eats 3 and bakes with 4, so 16 - 3 - 4 = 9 are left. The answer is 9.", 9),
    ("en", "Each box holds 9 eggs and there are 2 boxes. The answer is 9 * 2 = 18.", 18),
    ("en", "Answer: 18 (9 eggs in each of 2 boxes)", 18),
    ("en", "The answer is 18. Check: 18 / 2 = 9 per box.", 18),
    ("en", "He pays 1,250 + 250 = 1,500 dollars. The answer is $1,500.", 1500),
    ("en", "Final answer: 42. I used 3 steps.", 42),
    ("en", "So she earns 12 x 5 = 60 dollars per week.\n#### 60", 60),
    ("en", "The train travels 60 * 2.5 = 150 km. The answer is \\boxed{150}.", 150),
    ("es", "Tiene 43 huevos y regala 38, así que le quedan 43 - 38 = 5. La respuesta es 5.", 5),
    ("es", "La respuesta final es 18 (9 × 2), no 20.", 18),
    ("es", "Paga 1.250 + 250 = 1.500 euros. La respuesta es 1.500.", 1500),
    ("es", "Respuesta: 7. Cada amigo recibe 63 ÷ 9 = 7 coches y sobran 0.", 7),
    ("fr", "On partage 7 litres en 2 : 7 ÷ 2 = 3,5. La réponse est 3,5.", 3.5),
    ("fr", "La réponse finale est 18, et non 20.", 18),
    ("fr", "Il paie 1 250 + 250 = 1 500 euros. Réponse : 1 500", 1500),
    ("pt", "São 1.234 pessoas no total. A resposta é 1.234.", 1234),
    ("pt", "A resposta final é 18, e não 20.", 18),
    ("pt", "Ela compra 3 pacotes de 12, ou seja 3 × 12 = 36. Resposta: 36 (3 pacotes).", 36),
    ("ja", "卵は16個で、3個食べて4個使うので16 - 3 - 4 = 9個残ります。答えは9です。", 9),
    ("ja", "１箱に９個、２箱なので９ × ２ = １８。答え：１８", 18),
    ("ja", "月給は25万円なので、答えは25万円です。", 250000),
    ("ja", "全部で1万2000人です。答えは12000人です。", 12000),
    ("zh", "总共是1，234元。答案是1，234。", 1234),
    ("zh", "每盒9个，共2盒，9 × 2 = 18。答案：18（每盒9个）", 18),
    ("zh", "她每周挣12 × 5 = 60元，所以答案是60。", 60),
    ("zh", "人口是3万，答案是3万。", 30000),
    ("ko", "기온은 3도에서 10도 내려갔으므로 3 - 10 = -7입니다. 답은 -7입니다.", -7),
    ("ko", "답은 7만 원입니다.", 70000),
    ("ko", "정답: 3만 5천 원", 35000),
    ("ko", "한 상자에 9개씩 2상자이므로 9 × 2 = 18개입니다. 답: 18", 18),
    ("ar", "أعطى خالد ٣٨ بيضة من ٤٣، إذن ٤٣ - ٣٨ = ٥. الإجابة هي ٥.", 5),
    ("ar", "الإجابة النهائية هي 18، وليست 20.", 18),
    ("ar", "يدفع 1250 + 250 = 1500 ريال. الجواب هو 1500.", 1500),
    ("ar", "الإجابة: 36 (3 علب في كل منها 12)", 36),
]

_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩０１２３４５６７８９", "01234567890123456789")


def simple_evals(reply: str, lang: str) -> float | None:
    prefix = ANSWER_PREFIXES[lang]
    text = reply.translate(_DIGITS)
    if prefix not in text:
        return None
    numbers = re.findall(r"\d+\.?\d*", text.split(prefix)[-1].replace(",", ""))
    return float(numbers[-1].rstrip(".")) if numbers else None


def lm_eval_flexible(reply: str, lang: str) -> float | None:
    matches = re.findall(r"(-?[$0-9.,]{2,})|(-?[0-9]+)", reply.translate(_DIGITS))
    if not matches:
        return None
    text = next(group for group in matches[-1] if group).replace("$", "").replace(",", "").rstrip(".")
    try:
        return float(text)
    except ValueError:
        return None


def main() -> int:
    extractors = {"xlt": lambda reply, lang, gold: math_correct(reply, str(gold)),
                  "simple-evals": lambda reply, lang, gold: simple_evals(reply, lang) == gold,
                  "lm-eval flexible": lambda reply, lang, gold: lm_eval_flexible(reply, lang) == gold}
    langs = list(dict.fromkeys(lang for lang, _, _ in REPLIES))
    correct = {name: {lang: 0 for lang in langs} for name in extractors}
    totals = {lang: 0 for lang in langs}
    disagreements = []
    for lang, reply, gold in REPLIES:
        totals[lang] += 1
        verdicts = {name: bool(extract(reply, lang, gold)) for name, extract in extractors.items()}
        for name, verdict in verdicts.items():
            correct[name][lang] += verdict
        if len(set(verdicts.values())) > 1:
            disagreements.append((lang, reply, gold, verdicts))
    print(f"| extractor | {' | '.join(langs)} | all |")
    print(f"|---|{'---|' * (len(langs) + 1)}")
    for name in extractors:
        cells = [f"{correct[name][lang]}/{totals[lang]}" for lang in langs]
        print(f"| {name} | {' | '.join(cells)} | {sum(correct[name].values())}/{len(REPLIES)} |")
    print(f"\n{len(disagreements)} replies where the extractors disagree (right = reads the known answer):")
    for lang, reply, gold, verdicts in disagreements:
        marks = ", ".join(f"{name} {'right' if ok else 'wrong'}" for name, ok in verdicts.items())
        print(f"  [{lang}] answer {gold}: {marks}\n      {reply!r}")
    return 0 if sum(correct["xlt"].values()) == len(REPLIES) else 1


if __name__ == "__main__":
    sys.exit(main())
