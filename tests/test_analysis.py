"""The analysis stage on a finished study of known scores: tidy table, derived quantities, figures, curves,
audit and report."""

from __future__ import annotations

import json
import math
import shutil

import numpy as np
import polars as pl
import pytest

from xlt import audit, curves, figures, tables
from xlt.config import validate_config
from xlt.grid import analysis_spec, figure_names, per_language_tables
from xlt.provenance import write_provenance
from xlt.score import SCORE_SCHEMA

LANGS = ["en", "es", "fr", "ja", "zh", "ar", "ko", "pt"]
ITEMS = 20
STUDY_CONFIG = {
    "study": "fixture",
    "languages": {"english": "en", "seen": ["es", "fr", "ja", "zh"], "unseen": ["ar", "ko", "pt"]},
    "tasks": {task: {"kind": task, "data": {"source": "synthetic", "items": {"train": 1600, "validation": 160,
                                                                             "test": ITEMS}},
                     "metrics": [metric]}
              for task, metric in (("math", "math_accuracy"), ("summarization", "rouge_l"))},
    "mixtures": {"families": {
        "st_math": {"tasks": ["math"], "english": 10, "n": [0, 100, 400, 1600]},
        "st_summarization": {"tasks": ["summarization"], "english": 10, "n": [0, 100]},
        "mt": {"tasks": ["math", "summarization"], "english": 5, "n": [0, 100]},
        "script_latin": {"tasks": ["math"], "english": 10, "languages": ["es", "fr"], "n": [100]},
    }},
    "models": {"small": {"source": "embedded", "params_m": 1.0,
                         "architecture": {"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 1,
                                          "num_attention_heads": 2, "num_key_value_heads": 1}},
               "large": {"source": "embedded", "params_m": 8.0, "families": ["st_math"],
                         "architecture": {"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
                                          "num_attention_heads": 2, "num_key_value_heads": 1}}},
    "seeds": [0, 1],
    "analysis": {"bootstrap_samples": 200},
}


def true_score(model: str, n: int | None, lang: str) -> float:
    """A saturating curve in n: English highest, unseen languages lower, the large model higher."""
    n = 0 if n is None else n
    level = 0.6 if lang == "en" else 0.4 if lang in ("es", "fr", "ja", "zh") else 0.3
    return level * (1.2 if model == "large" else 1.0) * (0.5 + 0.5 * (1 - math.exp(-n / 300)))


def write_scores(root, model, run, task, n, seed):
    """A scores file of known per-item values (the true score plus item noise that averages to zero)."""
    rng = np.random.default_rng(abs(hash((model, run, task))) % 2**32)
    rows = []
    noise = np.linspace(-0.05, 0.05, ITEMS)
    for lang in LANGS:
        for item, offset in enumerate(rng.permutation(noise)):
            rows.append({"model": model, "run": run, "id": f"{task}:{item}:{lang}", "source_id": str(item), "task": task, "lang": lang,
                         "metric": STUDY_CONFIG["tasks"][task]["metrics"][0],
                         "score": true_score(model, n, lang) + offset + 0.001 * (seed or 0), "details": "{}"})
    path = root / "results/runs" / model / run / "scores" / f"{task}.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    pl.DataFrame(rows, schema=SCORE_SCHEMA).write_parquet(path)
    write_provenance(path.relative_to(root), stage="score", module="xlt.score", params={}, inputs=[],
                     outputs=[path.relative_to(root)], started=0)
    return path.relative_to(root)


@pytest.fixture(scope="module")
def study():
    return analysis_spec(validate_config(STUDY_CONFIG))


@pytest.fixture(scope="module")
def finished(tmp_path_factory, study):
    """A results tree with every run's scores, and the tables built from it (paths relative to the root)."""
    root = tmp_path_factory.mktemp("finished")
    cwd = __import__("os").getcwd()
    __import__("os").chdir(root)
    try:
        files = [write_scores(root, model, "base", task, None, None) for model in study["models"]
                 for task in study["tasks"]]
        files += [write_scores(root, run["model"], f"{run['mixture']}/seed{run['seed']}", task, run["n"],
                               run["seed"]) for run in study["runs"] for task in study["tasks"]]
        out = root / "results/tables"
        assert tables.main(["results", *map(str, files), "--study", json.dumps(study),
                            "--examples", "results/tables/scores_by_example.parquet",
                            "--results", "results/tables/results.parquet",
                            "--summary", "results/tables/run_summary.parquet"]) == 0
        assert curves.main(["--examples", "results/tables/scores_by_example.parquet", "--study",
                            json.dumps(study), "--out", "results/tables/data_efficiency.parquet"]) == 0
        assert figures.main(["fig3_scores_by_n", "--summary", "results/tables/run_summary.parquet",
                             "--study", json.dumps(study), "--out", "results/figures/fig3_scores_by_n.pdf",
                             "--notes", "results/figures/fig3_scores_by_n.notes.json"]) == 0
    finally:
        __import__("os").chdir(cwd)
    return root, {"results": pl.read_parquet(out / "results.parquet"),
                  "summary": pl.read_parquet(out / "run_summary.parquet"),
                  "examples": pl.read_parquet(out / "scores_by_example.parquet"),
                  "curves": pl.read_parquet(out / "data_efficiency.parquet")}


def test_the_tidy_table_has_one_row_per_cell_with_an_interval_around_the_mean(finished, study):
    _, frames = finished
    results = frames["results"]
    runs = len(study["runs"]) + len(study["models"])
    assert results.height == runs * len(study["tasks"]) * len(LANGS)
    assert results.select(["model", "run", "task", "metric", "lang"]).is_duplicated().sum() == 0
    assert (results["examples"] == ITEMS).all()
    assert ((results["ci_low"] <= results["score"]) & (results["score"] <= results["ci_high"])).all()
    assert (results["ci_high"] - results["ci_low"] > 0.01).all()  # item noise of +-0.05 gives a real interval
    row = results.filter(model="small", run="st_math-n100/seed0", task="math", lang="ja").row(0, named=True)
    assert row["score"] == pytest.approx(true_score("small", 100, "ja"), abs=1e-9)
    assert (row["lang_group"], row["script_group"], row["setting"], row["n"]) == ("seen", "non_latin",
                                                                                  "single_task", 100)
    assert row["scores_file"] == "results/runs/small/st_math-n100/seed0/scores/math.parquet"
    base = results.filter(run="base")
    assert base["setting"].unique().to_list() == ["base"] and base["n"].null_count() == base.height


def test_perf_to_en_and_group_averages_match_a_hand_computation(finished):
    root, frames = finished
    scores = pl.read_parquet(root / "results/runs/small/mt-n100/seed1/scores/summarization.parquet")
    means = dict(scores.group_by("lang").agg(pl.col("score").mean()).iter_rows())
    non_english = sum(means[code] for code in LANGS if code != "en") / 7
    summary = frames["summary"].filter(model="small", run="mt-n100/seed1", task="summarization")
    value = dict(zip(summary["quantity"], summary["value"]))
    assert value["perf_to_en"] == pytest.approx(non_english / means["en"])
    assert value["seen"] == pytest.approx(sum(means[c] for c in ("es", "fr", "ja", "zh")) / 4)
    assert value["seen_unseen_gap"] == pytest.approx(value["seen"] - sum(means[c] for c in ("ar", "ko", "pt")) / 3)
    assert value["script:latin"] == pytest.approx(sum(means[c] for c in ("es", "fr", "pt")) / 3)
    row = summary.filter(quantity="perf_to_en").row(0, named=True)
    assert row["ci_low"] < row["value"] < row["ci_high"]


def test_the_spearman_table_matches_a_hand_computation(finished, study):
    summary = frames_summary = finished[1]["summary"]
    table = tables.spearman_table(frames_summary, study)
    runs = (summary.filter(model="small", task="math", metric="math_accuracy")
            .filter(pl.col("family").is_in(["st_math", "mt", "script_latin"]))
            .pivot(on="quantity", index=["run"], values="value").sort("run"))
    seen, unseen = runs["seen"].rank().to_numpy(), runs["unseen"].rank().to_numpy()  # ties: average ranks
    n = len(seen)
    hand = np.corrcoef(seen, unseen)[0, 1]  # Spearman's rho: Pearson's r of the ranks
    row = table.filter(model="small", task="math").row(0, named=True)
    assert row["runs"] == n == 2 * (4 + 2 + 1)
    assert row["rho"] == pytest.approx(hand)
    assert 0 <= row["p"] < 0.05
    assert table.filter(model="large", task="summarization").height == 0  # large never trains summarization


def test_the_curve_fit_recovers_a_known_plateau():
    n = np.array([0, 100, 200, 400, 800, 1600, 3200], dtype=float)
    start, plateau, scale = curves.fit_curve(n, curves.saturating(n, 0.1, 0.6, 300.0))
    assert (start, plateau, scale) == pytest.approx((0.1, 0.6, 300.0), rel=1e-3)
    assert curves.n_at_fraction(scale, 0.95) == pytest.approx(300 * math.log(20), rel=1e-3)
    assert curves.fit_curve(n[:2], np.array([0.1, 0.2])) is None  # two points fit no 3-parameter curve


def test_data_efficiency_curves_of_the_study_bracket_the_true_n(finished):
    curves_table = finished[1]["curves"]
    assert set(curves_table["family"]) == {"st_math"}  # the only family with at least 3 n values
    assert curves_table.height == 2 * 3  # 2 models x (english, seen, unseen)
    row = curves_table.filter(model="small", group="seen").row(0, named=True)
    true_n = 300 * math.log(20)
    assert row["plateau"] == pytest.approx(0.4, abs=0.01)
    assert row["n_plateau"] == pytest.approx(true_n, rel=0.1)
    assert row["n_plateau_ci_low"] <= true_n <= row["n_plateau_ci_high"]
    assert row["status"] == "ok"


def test_each_figure_plots_the_summary_values_and_names_missing_runs(finished, study):
    frames = finished[1]
    summary = frames["summary"]
    assert figure_names(validate_config(STUDY_CONFIG)) == list(figures.FIGURES)
    for name in figures.FIGURES:
        plot = figures.draw_figure(name, summary, study, frames["curves"])
        assert plot.series.height and not plot.missing, name
        assert plot.figure.axes[0].get_xlabel().startswith("n (items") and plot.figure.legends, name
    scores = figures.draw_figure("fig3_scores_by_n", summary, study).series
    assert set(scores["panel"]) == {"math", "summarization"}
    assert set(scores.filter(panel="math")["series"]) == {"small seen", "small unseen", "large seen", "large unseen"}
    large = scores.filter(panel="math", series="large unseen").sort("x")
    expected = (summary.filter(model="large", task="math", quantity="unseen", family="st_math")
                .group_by("n").agg(pl.col("value").mean()).sort("n"))
    assert large["x"].to_list() == [0, 100, 400, 1600]
    assert large["y"].to_list() == pytest.approx(expected["value"].to_list())
    # Perf. to EN: one line per trained task, values from the summary
    perf = figures.draw_figure("fig4_perf_to_en_multi_task", summary, study).series
    assert set(perf["series"]) == {"Math reasoning", "Summarization"}
    # a run with no scores is named on the figure, not dropped silently
    partial = summary.filter(~((pl.col("model") == "small") & (pl.col("run") == "st_math-n400/seed1")))
    plot = figures.draw_figure("fig3_scores_by_n", partial, study)
    assert plot.missing == ["small st_math-n400 seed1 math (no scores)"]
    assert "small st_math-n400 seed1 math (no scores)" in plot.figure.get_supxlabel().replace("\n", " ")


def test_the_script_mix_figure_stars_each_lines_maximum(finished, study):
    plot = figures.draw_figure("fig6_script_mix", finished[1]["summary"], study)
    series = set(plot.series["series"])
    assert {"en+es+fr: latin", "en+es+fr: non-latin", "en+es+fr+ja+zh: latin"} <= series
    stars = [line for line in plot.figure.axes[0].get_lines() if line.get_marker() == "*"]
    assert len(stars) == len(series)
    best = plot.series.filter(series="en+es+fr+ja+zh: latin").sort("y").row(-1, named=True)
    assert any(star.get_xdata()[0] == best["x"] and star.get_ydata()[0] == best["y"] for star in stars)


def test_per_language_tables_average_seeds_and_write_csv_markdown_and_latex(finished, study, tmp_path):
    results = finished[1]["results"]
    assert ("small", "script_mix", "math") in per_language_tables(validate_config(STUDY_CONFIG))
    table = tables.per_language_table(results, study, "small", "single_task", "math")
    assert table["family"].to_list() == ["base", "st_math", "st_math", "st_math", "st_math"]
    assert table.columns == ["family", "n", *sorted(LANGS), "Avg"]
    row = table.filter(n="400").row(0, named=True)
    cells = results.filter(model="small", mixture="st_math-n400", task="math")
    assert row["ja"] == pytest.approx(cells.filter(lang="ja")["score"].mean())
    assert row["Avg"] == pytest.approx(cells["score"].mean())
    written = tables.write_table(table, tmp_path / "t.csv", "small, single-task, math")
    assert [path.suffix for path in written] == [".csv", ".md", ".tex"]
    assert "\\begin{tabular}" in written[2].read_text() and "st\\_math" in written[2].read_text()
    assert "| family" in written[1].read_text()


def test_audit_walks_the_lineage_and_flags_modified_inputs_and_stale_code(finished, tmp_path, capsys):
    root, _ = finished
    copy = tmp_path / "copied"
    shutil.copytree(root, copy)  # another machine: a different root, same relative paths
    figure = copy / "results/figures/fig3_scores_by_n.pdf"
    tree = audit.lineage(figure)
    nodes = audit.walk(tree)
    assert [node.record["stage"] for node in nodes[:2]] == ["figure", "tables"]
    assert {node.record["stage"] for node in nodes} == {"figure", "tables", "score"}
    assert audit.summary(tree) == {"artifacts": 2 + 28 * 2, "modified": 0, "missing": 0, "stale": 0,
                                   "unrecorded": 0}
    # a score file edited after the tables were made
    score = copy / "results/runs/small/mt-n0/seed0/scores/math.parquet"
    pl.read_parquet(score).with_columns(score=pl.lit(1.0)).write_parquet(score)
    # an artifact made by older code: its recorded fingerprint differs from this checkout's
    sidecar = copy / "results/runs/large/base/scores/math.provenance.json"
    record = json.loads(sidecar.read_text())
    record["code"]["stage_fingerprint"] = "0" * 64
    sidecar.write_text(json.dumps(record))
    audit.current_hash.cache_clear()
    assert audit.main([str(figure)]) == 1
    out = capsys.readouterr().out
    assert "modified input: results/runs/small/mt-n0/seed0/scores/math.parquet" in out
    assert "modified output: results/runs/small/mt-n0/seed0/scores/math.parquet" in out
    assert "stale: made by other code than this checkout (xlt.score fingerprint 000000000000" in out
    assert audit.main([str(figure), "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["summary"]["modified"] == 2 and report["summary"]["stale"] == 1
    assert report["lineage"]["stage"] == "figure" and report["lineage"]["inputs"][0]["stage"] == "tables"


def test_the_report_embeds_every_figure_table_and_provenance(finished, study, monkeypatch):
    from xlt import report

    root, _ = finished
    monkeypatch.chdir(root)
    html = report.build_report(STUDY_CONFIG, study, "results/tables/run_summary.parquet",
                               "results/tables/data_efficiency.parquet", ["results/figures/fig3_scores_by_n.png"],
                               [], ["results/figures/fig3_scores_by_n.notes.json"])
    assert html.count("data:image/png;base64,") == 1 and 'id="fig3_scores_by_n"' in html
    assert "lineage intact" in html and "n_plateau" in html and "st_math-n1600/seed1" in html
    assert "<h2 id=\"config\">" in html and "fixture" in html


def test_the_report_shows_the_config_with_its_secrets_redacted(finished, study, monkeypatch):
    """The config a report shows passed validation, which refuses secrets; a config built by hand (or an older
    one) is still redacted by the one redaction that provenance and logs use."""
    from xlt import report

    root, _ = finished
    monkeypatch.chdir(root)
    config = {**STUDY_CONFIG, "judge": {"backend": "openai", "base_url": "https://bob:hunter2@judge.example/v1",
                                        "model_name": "m", "api_key_env": "OPENAI_API_KEY", "max_new_tokens": 512,
                                        "extra_body": {"api_key": "sk-live-abcdefghijklmnop123", "hf_token": "x"}}}
    html = report.build_report(config, study, "results/tables/run_summary.parquet",
                               "results/tables/data_efficiency.parquet", [], [])
    for secret in ("hunter2", "bob:", "sk-live-abcdefghijklmnop123", "hf_token: x"):
        assert secret not in html
    assert "https://&lt;redacted&gt;@judge.example/v1" in html and "api_key: &lt;redacted&gt;" in html
    assert "max_new_tokens: 512" in html and "api_key_env: OPENAI_API_KEY" in html  # not secrets


def test_run_keys_come_from_the_scores_model_and_run_columns():
    assert tables.run_fields("tiny", "base") == {
        "model": "tiny", "run": "base", "family": None, "mixture": None, "n": None, "seed": None}
    assert tables.run_fields("tiny", "st_math-n40/seed3") == {
        "model": "tiny", "run": "st_math-n40/seed3", "family": "st_math", "mixture": "st_math-n40", "n": 40,
        "seed": 3}
    assert tables.run_fields("tiny", "my-family-n10/seed0")["family"] == "my-family"


def test_unscored_examples_are_left_out_of_the_means_and_counted(study, tmp_path, monkeypatch):
    """A judge reply without a rating: no score, not a zero; the tables and the report count it."""
    from xlt import report

    monkeypatch.chdir(tmp_path)
    path = write_scores(tmp_path, "small", "base", "math", None, None)
    scores = pl.read_parquet(path)
    unrated = (pl.col("lang") == "es") & pl.col("source_id").is_in(["0", "1", "2"])
    scores.with_columns(score=pl.when(unrated).then(None).otherwise("score")).write_parquet(path)
    examples = tables.collect_scores([path], study)
    cells, replicates = tables.cell_bootstrap(examples, study)
    tidy = tables.results_table(examples, cells, replicates, study)
    spanish = tidy.filter(lang="es").row(0, named=True)
    assert (spanish["examples"], spanish["unscored"]) == (ITEMS - 3, 3)
    assert spanish["score"] == pytest.approx(scores.filter(~unrated, lang="es")["score"].mean())
    summary = tables.run_summary(examples, cells, replicates, study)
    assert set(summary["unscored"]) == {3}
    assert "(3 unscored)" in report.html_table(report.run_table(summary, study))
