"""The synthetic multilingual benchmark: parallel items for the study's three task kinds.

An item is a tuple of language-independent parameters (problem type, filler indices, numbers). It is drawn
once and rendered in every language from that language's templates (``languages/{lang}.yaml``), so all
translations of an item share one ``source_id``. The splits are disjoint by prompt: test and validation items are
distinct, and a training prompt is never a test or validation prompt. Within the training split a prompt may
recur (as in real instruction data): the instruction templates hold a few hundred distinct prompts besides
"repeat" ones, and requiring distinct training prompts would fill the split with the one kind left (1,433 of
1,500 English training items were "repeat" instructions before). The test split is drawn first from its own
random stream, so changing the train or validation size never changes the test set.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import numpy as np
import polars as pl

from xlt.schema import EXAMPLE_SCHEMA, example_id, validate_examples
from xlt.synthetic.lexicon import count_phrase, load_language, noun_form

KINDS = ("math", "summarization", "instruction_following")
SPLIT_ORDER = ("test", "validation", "train")  # test first: its items never depend on the other sizes
Params = tuple  # a hashable description of one item, the same in every language
MAX_CONSECUTIVE_DUPLICATES = 5_000


class CapacityError(ValueError):
    """More distinct items were asked for than the templates can produce."""


# ---- drawing item parameters ------------------------------------------------------------------------------


def _reference() -> dict[str, Any]:
    return load_language("en")


def draw_math(rng: np.random.Generator) -> Params:
    ref = _reference()
    problem = str(rng.choice(["add", "sub", "mul", "div", "price", "two_step"]))
    name, friend = (int(i) for i in rng.choice(len(ref["names"]), size=2, replace=False))
    item = int(rng.integers(len(ref["items"])))
    container = int(rng.integers(len(ref["containers"])))
    # Place-value arithmetic: tens plus ones, less ones, times ten, divided by ten, times ten less ones (30 + 4,
    # 34 - 4, 6 x 10, 60 / 10, 6 x 10 - 3): the answers place the problem's digits, with no memorized tables
    # (all but the last), the easiest arithmetic for a tiny model; what transfers across languages is reading
    # the problem.
    if problem == "add":
        a, b, c = 10 * int(rng.integers(1, 10)), int(rng.integers(1, 10)), 0
    elif problem == "sub":
        b = int(rng.integers(1, 10))
        a, c = 10 * int(rng.integers(1, 10)) + b, 0
    elif problem in ("mul", "price"):
        a, b, c = int(rng.integers(2, 10)), 10, 0
        if problem == "price":  # the price is the round number: 10 coins each, b items bought
            a, b = 10, a
    elif problem == "two_step":
        a, b, c = int(rng.integers(2, 10)), 10, int(rng.integers(1, 10))
    else:  # div
        b, quotient = 10, int(rng.integers(2, 10))
        a, c = b * quotient, 0
    return (problem, name, friend, item, container, a, b, c)


def math_answer(problem: str, a: int, b: int, c: int) -> int:
    return {
        "add": a + b,
        "sub": a - b,
        "mul": a * b,
        "div": a // b if b else 0,
        "price": a * b,
        "two_step": a * b - c,
    }[problem]


def draw_summarization(rng: np.random.Generator) -> Params:
    ref = _reference()
    report = str(rng.choice(sorted(k for k in ref["reports"] if k != "summarize_prompt")))
    city, city2 = (int(i) for i in rng.choice(len(ref["cities"]), size=2, replace=False))
    day = int(rng.integers(len(ref["days"])))
    person = int(rng.integers(len(ref["names"])))
    company = int(rng.integers(len(ref["companies"])))
    n, m = {
        "festival": (int(rng.integers(100, 5001)), 0),
        "storm": (int(rng.integers(2, 31)), 0),
        "match": (lambda goals: (goals, int(rng.integers(0, goals))))(int(rng.integers(2, 8))),
        "factory": (int(rng.integers(50, 2001)), 0),
    }[report]
    n_extra = len(ref["reports"][report]["extra"])
    extras = tuple(int(i) for i in rng.permutation(n_extra)[: int(rng.integers(0, 3))])
    n_key = len(ref["reports"][report]["key"])
    # Slots (after the first key sentence) where the extra sentences go.
    slots = tuple(sorted(int(i) for i in rng.choice(n_key - 1 + len(extras), size=len(extras), replace=False)))
    return (report, city, city2, day, person, company, n, m, extras, slots)


def draw_instruction(rng: np.random.Generator) -> Params:
    ref = _reference()
    main = str(rng.choice(["include_word", "list", "repeat"], p=[0.3, 0.3, 0.4]))
    modifier = str(rng.choice(["none", "end_with", "quoted"]))
    closing = int(rng.integers(len(ref["closings"]))) if modifier == "end_with" else -1
    if main == "include_word":
        detail: Params = (int(rng.integers(len(ref["topics"]))),)
    elif main == "list":
        detail = (int(rng.integers(len(ref["categories"]))), int(rng.integers(2, 7)))  # 2-6 of 6 members
    else:  # a sentence to repeat: a report's opening sentence with its own fillers
        detail = draw_summarization(rng)[:8]
    return (main, modifier, closing, detail)


# ---- rendering one item in one language ------------------------------------------------------------------


def bare_noun(lang: str, noun: dict[str, str]) -> str:
    """The noun as in "how many apples": the plural, or in Arabic the singular that follows "kam"."""
    return noun_form(lang, noun, 100 if lang == "ar" else 2)


def render_math(params: Params, lang: str) -> tuple[str, str, str]:
    problem, name, friend, item, container, a, b, c = params
    data = load_language(lang)
    answer = math_answer(problem, a, b, c)
    items, containers = data["items"][item], data["containers"][container]
    fields = {
        "name": data["names"][name],
        "friend_name": data["names"][friend],
        "a": a, "b": b, "c": c, "ab": a * b, "answer": answer,
        "a_items": count_phrase(lang, items, a),
        "b_items": count_phrase(lang, items, b),
        "c_items": count_phrase(lang, items, c),
        "answer_items": count_phrase(lang, items, answer),
        "a_containers": count_phrase(lang, containers, a),
        "b_friends": count_phrase(lang, data["friend"], b),
        "a_coins": count_phrase(lang, data["coin"], a),
        "answer_coins": count_phrase(lang, data["coin"], answer),
        "items": bare_noun(lang, items),
        "containers": bare_noun(lang, containers),
        "coins": bare_noun(lang, data["coin"]),
    }
    template = data["math"][problem]
    question = template["question"].format(**fields)
    solution = data["joiner"].join(
        [template["solution"].format(**fields), data["math"]["answer_phrase"].format(**fields)]
    )
    return question, solution, str(answer)


def render_summarization(params: Params, lang: str) -> tuple[str, str, str]:
    report, city, city2, day, person, company, n, m, extras, slots = params
    data = load_language(lang)
    spec = data["reports"][report]
    fields = {
        "city": data["cities"][city], "city2": data["cities"][city2], "day": data["days"][day],
        "person": data["names"][person], "company": data["companies"][company], "n": n, "m": m,
    }
    body = list(spec["key"][1:])
    for slot, extra in zip(slots, extras):
        body.insert(slot, spec["extra"][extra])
    sentences = [spec["key"][0], *body]
    text = data["joiner"].join(sentence.format(**fields) for sentence in sentences)
    summary = spec["summary"].format(**fields)
    prompt = data["reports"]["summarize_prompt"].format(report=text)
    return prompt, summary, summary


def render_instruction(params: Params, lang: str) -> tuple[str, str, str]:
    main, modifier, closing, detail = params
    data = load_language(lang)
    quote = data["quote"]
    if main == "include_word":
        topic = data["topics"][detail[0]]
        prompt = [data["instructions"]["include_word"].format(topic=topic["topic"],
                                                               word=quote.format(text=topic["word"]))]
        reply = topic["text"]
        constraints = [{"type": "include_word", "word": topic["word"]}]
    elif main == "list":
        category, k = detail
        members = data["categories"][category]["members"]
        prompt = [data["instructions"]["list"].format(k=k, category=data["categories"][category]["name"])]
        # A fixed choice of members for each (category, k), so the reply is a function of the prompt.
        chosen = [members[(category + k + i) % len(members)] for i in range(k)]
        reply = "\n".join(f"{i}. {member}" for i, member in enumerate(chosen, start=1))
        constraints = [{"type": "numbered_list", "items": k}]
    else:
        report, city, city2, day, person, company, n, m = detail
        sentence = data["reports"][report]["key"][0].format(
            city=data["cities"][city], city2=data["cities"][city2], day=data["days"][day],
            person=data["names"][person], company=data["companies"][company], n=n, m=m)
        prompt = [data["instructions"]["repeat"].format(sentence=sentence)]
        reply = sentence
        constraints = [{"type": "repeat", "text": sentence}]
    if modifier == "end_with":
        text = data["closings"][closing]
        prompt.append(data["instructions"]["end_with"].format(closing=quote.format(text=text)))
        reply = f"{reply}\n{text}"
        constraints.append({"type": "end_with", "text": text})
    elif modifier == "quoted":
        prompt.append(data["instructions"]["quoted"])
        reply = quote.format(text=reply)
        constraints.append({"type": "quoted", "quote": quote})
    constraints.append({"type": "response_language", "lang": lang})
    reference = json.dumps({"lang": lang, "constraints": constraints}, ensure_ascii=False, sort_keys=True)
    return data["joiner"].join(prompt), reply, reference


GENERATORS: dict[str, tuple[Callable[[np.random.Generator], Params], Callable[[Params, str], tuple]]] = {
    "math": (draw_math, render_math),
    "summarization": (draw_summarization, render_summarization),
    "instruction_following": (draw_instruction, render_instruction),
}


# ---- the benchmark table ---------------------------------------------------------------------------------


def draw_items(kind: str, seed: int, items: dict[str, int]) -> dict[str, list[Params]]:
    """Item parameters per split by their English prompt: test and validation prompts distinct, training prompts
    never a test or validation one (a test prompt in training would be a leak), recurring within training; raises
    ``CapacityError`` if the templates run out."""
    draw, render = GENERATORS[kind]
    taken: set[str] = set()  # the prompts of the test and validation items drawn so far
    drawn: dict[str, list[Params]] = {}
    for split_index, split in enumerate(SPLIT_ORDER):
        rng = np.random.default_rng([seed, KINDS.index(kind), split_index])
        picked: list[Params] = []
        misses = 0  # consecutive draws of an item already taken
        while len(picked) < items[split]:
            params = draw(rng)
            prompt = render(params, "en")[0]
            if prompt in taken:
                misses += 1
                if misses > MAX_CONSECUTIVE_DUPLICATES:
                    raise CapacityError(
                        f"the synthetic {kind} templates ran out of distinct items after {len(taken)}; asked "
                        f"for {sum(items.values())} in all (lower tasks.<task>.data.items)"
                    )
                continue
            misses = 0
            if split != "train":  # training prompts may recur; test and validation ones never do, nor reach training
                taken.add(prompt)
            picked.append(params)
        drawn[split] = picked
    return drawn


def build_benchmark(task: str, kind: str, seed: int, items: dict[str, int], languages: list[str]) -> pl.DataFrame:
    """Every item of every split in every language, in the example schema, sorted by id."""
    if kind not in GENERATORS:
        raise ValueError(f"unknown task kind {kind!r}; expected one of {KINDS}")
    render = GENERATORS[kind][1]
    rows = []
    for split, params_list in draw_items(kind, seed, items).items():
        prefix = split[:2]  # "te", "va", "tr": readable ids that say where an item belongs
        for i, params in enumerate(params_list):
            source_id = f"{prefix}{i:06d}"
            for lang in languages:
                prompt, answer, reference = render(params, lang)
                rows.append({
                    "id": example_id(task, source_id, lang),
                    "source_id": source_id,
                    "task": task,
                    "lang": lang,
                    "split": split,
                    "messages": [{"role": "user", "content": prompt}, {"role": "assistant", "content": answer}],
                    "reference": reference,
                    "origin": "synthetic",
                })
    frame = pl.DataFrame(rows, schema=EXAMPLE_SCHEMA).sort("id")
    return validate_examples(frame, f"synthetic {task}")
