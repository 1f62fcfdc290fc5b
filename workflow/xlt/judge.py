"""The judge stage: an LLM rates each instruction-following reply 1-5 (the ``judge_rating`` metric).

The judge sees the question (the last user turn of the prompt) and the reply, and must answer with
"Rating: [[k]]" (MT-Bench single-answer grading on the paper's 1-5 scale). Rating is switch-aware: a reply
that is not in the prompt's language gets 1 without asking the judge, as does an empty reply. A judge reply
without a valid rating is kept, counted and left unscored (status ``unparseable``), never guessed.

Backends: a local judge model through the generate stage's backends (vLLM or transformers, the judge prompt
as one user turn under the judge's chat template), or any OpenAI-compatible endpoint (``openai``: a hosted
API, or ``vllm serve`` of a judge model) with ``concurrency`` requests in flight. The API key is read from
the environment variable named by ``judge.api_key_env``; only that name is ever written anywhere.

Usage::

    python -m xlt.cli judge run --generations results/runs/tiny_1m/base/generations/instruction_following.parquet \
        --spec '<json: the judge config plus "languages">' --model-dir path/or/hub-id \
        --out results/runs/tiny_1m/base/judgements/instruction_following.parquet
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
import unicodedata
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import polars as pl

from xlt.inference import chat_token_ids, load_backend
from xlt.io import read_table, write_parquet
from xlt.langid import language_check
from xlt.provenance import write_provenance
from xlt.secrets import MARKER, redact_text
from xlt.weights import resolve_model_dir, weight_files

JUDGEMENT_SCHEMA = {"id": pl.String, "source_id": pl.String, "task": pl.String, "lang": pl.String,
                    "rating": pl.Float64, "status": pl.String, "judge_reply": pl.String}
STATUSES = ("rated", "unparseable", "wrong_language", "empty", "error")
RATINGS = range(1, 6)
# More failed requests than this (a share of the requests sent) fail the job: ratings over the rest would be
# a biased sample (a timeout hits long replies first). Fewer are kept as status "error", unscored and counted.
MAX_ERROR_FRACTION = 0.1

# MT-Bench's single-answer grading prompt (Zheng et al. 2023), on the paper's 1-5 scale and switch-aware: the
# answer must be in the user's language.
DEFAULT_PROMPT = """\
Please act as an impartial judge and evaluate the quality of the response provided by an AI assistant to the \
user question displayed below. Your evaluation should consider factors such as the helpfulness, relevance, \
accuracy, depth, creativity, and level of detail of the response. The response must be written in the same \
language as the user question: a response in another language is unhelpful to the user and must be rated 1. \
Begin your evaluation by providing a short explanation. Be as objective as possible. After providing your \
explanation, you must rate the response on a scale of 1 to 5 by strictly following this format: \
"Rating: [[k]]", where k is an integer from 1 to 5, for example: "Rating: [[3]]".

Scale:
1 = unhelpful, irrelevant, wrong, or not in the language of the question
2 = attempts the task but is mostly wrong, incomplete or unclear
3 = partly helpful: relevant but with notable errors or omissions
4 = helpful and correct with minor issues
5 = excellent: fully helpful, accurate, detailed and well written

[Question]
{question}

[The Start of Assistant's Answer]
{reply}
[The End of Assistant's Answer]"""

_PLACEHOLDER = re.compile(r"\{(question|reply)\}")
# Every double-bracketed value; the rating is the last one that looks like a number ("[[rating]]" echoed from
# the instructions is not a rating). Markdown emphasis inside the brackets is dropped before reading it.
_BRACKETED = re.compile(r"\[\[([^\[\]]*)\]\]")
_NUMBER_LIKE = re.compile(r"[+-]?\d+(?:[.,/]\d*)*")


@dataclass(frozen=True)
class JudgeFailure:
    """A judge request that failed after its retries; ``message`` holds no secret."""

    message: str


JudgeReply = str | JudgeFailure
Judge = Callable[[list[str]], list[JudgeReply]]  # judge prompts -> a reply (or a failure) each, in order


# ---- prompts and ratings -----------------------------------------------------------------------------------


def parse_rating(reply: str | None) -> int | None:
    """The rating in a judge reply: the last "[[k]]" with k an integer 1-5, or None when there is none.

    Tolerates case, spaces and markdown emphasis ("**Rating:** [[ 4 ]]", "[[**4**]]") and full-width forms
    (NFKC). The last bracketed number decides, so a judge that quotes the scale before rating is read right;
    if it is out of range ("[[7]]", "[[0]]") or not an integer ("[[4.5]]", "[[4/5]]"), the reply is unparseable
    rather than read from an earlier number.
    """
    if not reply:
        return None
    text = unicodedata.normalize("NFKC", reply)
    values = [re.sub(r"[\s*_`]", "", inner) for inner in _BRACKETED.findall(text)]
    numbers = [value for value in values if _NUMBER_LIKE.fullmatch(value)]
    if not numbers or not numbers[-1].isdigit():
        return None
    rating = int(numbers[-1])
    return rating if rating in RATINGS else None


def check_template(template: str) -> str:
    """``template`` if it has both placeholders; else a ValueError naming the config key."""
    missing = [name for name in ("question", "reply") if "{" + name + "}" not in template]
    if missing:
        raise ValueError(f"judge.prompt: the placeholder(s) {', '.join('{' + m + '}' for m in missing)} are missing; "
                         f"the judge must see the question and the reply")
    return template


def judge_prompt(template: str, question: str, reply: str) -> str:
    """The judge's user turn: ``template`` with {question} and {reply} filled in once each (other braces,
    and braces inside the question or reply, are left as they are)."""
    values = {"question": question, "reply": reply}
    return _PLACEHOLDER.sub(lambda match: values[match[1]], template)


def question_of(prompt: list[dict[str, str]]) -> str:
    """The question of a prompt: its last user turn (earlier turns are k-shot exemplars)."""
    for turn in reversed(prompt):
        if turn["role"] == "user":
            return turn["content"]
    raise ValueError("a prompt without a user turn: nothing for the judge to read")


def precheck(reply: str | None, lang: str, candidates: list[str]) -> str | None:
    """The status of a reply that is rated 1 without the judge, or None when the judge must see it.

    ``empty``: a reply with no text answers nothing, the lowest rating by the protocol; asking the judge would
    spend a request on it and let a weak judge rate it at random, and the language check cannot say whether
    an empty text is in the prompt's language. ``wrong_language``: the paper's switch-aware rule, with the
    same line-by-line language check as the constraint metric (``xlt.language_check``).
    """
    if reply is None or not reply.strip():
        return "empty"
    if not language_check(reply, lang, candidates):
        return "wrong_language"
    return None


def rate(generations: pl.DataFrame, judge: Judge, languages: list[str], template: str = DEFAULT_PROMPT
         ) -> pl.DataFrame:
    """One judgement per generation, sorted by id (columns: ``JUDGEMENT_SCHEMA``).

    Only replies that pass ``precheck`` are sent to ``judge``, in one call (a local backend batches them, an
    endpoint gets them concurrently); ``judge_reply`` is null for the others and for failed requests.
    """
    check_template(template)
    rows = generations.sort("id").to_dicts()
    statuses = [precheck(row["generation"], row["lang"], languages) for row in rows]
    asked = [i for i, status in enumerate(statuses) if status is None]
    prompts = [judge_prompt(template, question_of(rows[i]["prompt"]), rows[i]["generation"]) for i in asked]
    replies = judge(prompts) if prompts else []
    if len(replies) != len(prompts):
        raise RuntimeError(f"the judge returned {len(replies)} replies to {len(prompts)} prompts")
    answers: dict[int, JudgeReply] = dict(zip(asked, replies))
    out = []
    for i, (row, status) in enumerate(zip(rows, statuses)):
        rating, judge_reply = (1.0, None) if status else (None, None)
        if status is None:
            answer = answers[i]
            if isinstance(answer, JudgeFailure):
                status = "error"
            else:
                judge_reply = answer
                parsed = parse_rating(answer)
                status, rating = ("rated", float(parsed)) if parsed is not None else ("unparseable", None)
        out.append({"id": row["id"], "source_id": row["source_id"], "task": row["task"], "lang": row["lang"],
                    "rating": rating, "status": status, "judge_reply": judge_reply})
    return pl.DataFrame(out, schema=JUDGEMENT_SCHEMA)


def status_counts(judgements: pl.DataFrame) -> dict[str, int]:
    """Judgements per status, every status present (0 when none)."""
    counts = dict(judgements.group_by("status").len().iter_rows())
    return {status: counts.get(status, 0) for status in STATUSES}


def check_errors(judgements: pl.DataFrame, max_fraction: float = MAX_ERROR_FRACTION) -> None:
    """A ValueError when more than ``max_fraction`` of the requests sent to the judge failed."""
    counts = status_counts(judgements)
    sent = counts["rated"] + counts["unparseable"] + counts["error"]
    if sent and counts["error"] > max_fraction * sent:
        raise ValueError(f"{counts['error']} of {sent} judge requests failed after retries "
                         f"(more than {max_fraction:.0%}); no judgements written. Check the judge endpoint "
                         f"(judge.base_url, judge.model_name, the key in judge.api_key_env) or raise "
                         f"judge.timeout_s / judge.max_retries")


# ---- judges --------------------------------------------------------------------------------------------------


def _scrub(text: str, secret: str | None) -> str:
    """An error message fit for a log: the key itself and anything else secret-looking redacted."""
    return redact_text(text.replace(secret, MARKER) if secret else text)


def openai_judge(spec: dict[str, Any]) -> Judge:
    """A judge behind an OpenAI-compatible chat endpoint: ``spec["concurrency"]`` requests in flight, replies
    in input order, a request that fails after the client's retries becomes a ``JudgeFailure``."""
    from openai import OpenAI

    api_key = os.environ.get(spec["api_key_env"]) or None
    # A local server (vllm serve) needs no key; the client insists on one.
    client = OpenAI(base_url=spec["base_url"], api_key=api_key or "EMPTY", timeout=spec["timeout_s"],
                    max_retries=spec["max_retries"])
    request = {"model": spec["model_name"], "temperature": spec["temperature"], "top_p": spec["top_p"],
               "max_tokens": spec["max_new_tokens"], "seed": spec["seed"]}
    extra_body = spec["extra_body"] or None

    def one(prompt: str) -> JudgeReply:
        try:
            response = client.chat.completions.create(messages=[{"role": "user", "content": prompt}],
                                                      extra_body=extra_body, **request)
            return response.choices[0].message.content or ""
        except Exception as error:  # noqa: BLE001 - any failure of one request is that row's status "error"
            message = _scrub(f"{type(error).__name__}: {error}", api_key)
            print(f"judge request failed: {message}", file=sys.stderr)
            return JudgeFailure(message)

    def judge(prompts: list[str]) -> list[JudgeReply]:
        with ThreadPoolExecutor(max_workers=spec["concurrency"]) as pool:
            return list(pool.map(one, prompts))

    return judge


def local_judge(spec: dict[str, Any], model_dir: str, tensor_parallel: int = 1) -> Judge:
    """A judge model run by the generate stage's backend (``spec["backend"]``: vllm or hf); it loads on the
    first call, so a table whose replies are all rated without the judge never loads it."""
    from transformers import AutoTokenizer

    settings = {key: spec[key] for key in ("backend", "seed", "max_new_tokens", "temperature", "top_p", "batch_size")}
    settings["tensor_parallel_size"] = tensor_parallel

    def judge(prompts: list[str]) -> list[JudgeReply]:
        tokenizer = AutoTokenizer.from_pretrained(model_dir)
        ids = chat_token_ids(tokenizer, [[{"role": "user", "content": prompt}] for prompt in prompts])
        backend = load_backend(model_dir, ids, settings)
        return [backend.decode(tokens).strip() for tokens in backend.generate(ids)]

    return judge


def make_judge(spec: dict[str, Any], model_dir: str | None = None, tensor_parallel: int = 1) -> Judge:
    """The judge of the validated ``judge`` config; local backends need the judge model's directory (and run
    over the job's GPUs with vLLM tensor parallelism)."""
    if spec["backend"] == "openai":
        return openai_judge(spec)
    if not model_dir:
        raise ValueError(f"judge.backend {spec['backend']}: the judge model directory (--model-dir) is required")
    return local_judge(spec, model_dir, tensor_parallel)


def public_params(spec: dict[str, Any]) -> dict[str, Any]:
    """What provenance records: the config with the effective prompt; the key's variable name, never a key."""
    return {**{key: value for key, value in spec.items() if key != "api_key"},
            "prompt": spec.get("prompt") or DEFAULT_PROMPT}


# ---- CLI -----------------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="xlt judge", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="rate one run's generations of one task")
    run.add_argument("--generations", required=True)
    run.add_argument("--spec", required=True, help='JSON: the judge config plus "languages": [...]')
    run.add_argument("--out", required=True)
    run.add_argument("--model-dir", nargs="?", default=None, help="the judge model (directory or hub id) of the "
                     "vllm and hf backends; no value for an endpoint")
    run.add_argument("--threads", type=int, default=int(os.environ.get("XLT_TORCH_THREADS", "1")))
    run.add_argument("--tensor-parallel", type=int, default=0, help="GPUs of the job (vLLM tensor parallelism)")
    args = parser.parse_args(argv)
    started = time.time()
    spec = json.loads(args.spec)  # the validated judge config (its keys are refused at validation)
    if spec["backend"] != "openai":
        import torch

        torch.set_num_threads(args.threads)
    languages = spec.pop("languages")
    template = check_template(spec.get("prompt") or DEFAULT_PROMPT)
    model_dir = args.model_dir  # None for an endpoint
    if spec["backend"] != "openai" and model_dir:  # a hub id: its snapshot at judge.model.revision
        model_dir = resolve_model_dir(model_dir, spec.get("model", {}).get("revision"))
    judge = make_judge(spec, model_dir, max(1, args.tensor_parallel))
    judgements = rate(read_table(args.generations), judge, languages, template)
    counts = status_counts(judgements)
    summary = ", ".join(f"{status} {count}" for status, count in counts.items())
    mean = judgements["rating"].mean()
    print(f"{len(judgements)} judgements ({summary}; mean rating "
          f"{'n/a' if mean is None else f'{mean:.2f}'}) -> {args.out}")
    check_errors(judgements)
    write_parquet(judgements, args.out)
    # a local judge's weights are hashed; a hub snapshot is named by its commit ("loaded")
    model_files = weight_files(args.model_dir)
    write_provenance(args.out, stage="judge", module=__name__,
                     params={**public_params(spec), "languages": languages, "loaded": model_dir},
                     inputs=[args.generations, *model_files], outputs=[args.out], started=started,
                     seed=spec["seed"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
