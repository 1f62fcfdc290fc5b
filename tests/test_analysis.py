"""The analysis stage on a finished study of known scores: tidy table, derived quantities, figures, curves,
audit and report."""

from __future__ import annotations

import json
import math
import shutil

import numpy as np
import polars as pl
import pytest

from xlt import audit, bootstrap, curves, figures, tables
from xlt.analysis import MIXTURE_CELL_KEYS
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
              for task, metric in (("math", "math_accuracy"), ("summarization", "rouge_l_script"))},
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
                            "--summary", "results/tables/run_summary.parquet",
                            "--mixtures", "results/tables/mixture_summary.parquet"]) == 0
        assert curves.main(["--examples", "results/tables/scores_by_example.parquet", "--study",
                            json.dumps(study), "--out", "results/tables/data_efficiency.parquet"]) == 0
        assert figures.main(["fig3_scores_by_n", "--summary", "results/tables/mixture_summary.parquet",
                             "--study", json.dumps(study), "--out", "results/figures/fig3_scores_by_n.pdf",
                             "--notes", "results/figures/fig3_scores_by_n.notes.json"]) == 0
    finally:
        __import__("os").chdir(cwd)
    return root, {"results": pl.read_parquet(out / "results.parquet"),
                  "summary": pl.read_parquet(out / "run_summary.parquet"),
                  "mixtures": pl.read_parquet(out / "mixture_summary.parquet"),
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


def test_each_figure_plots_the_means_over_seeds_and_names_missing_runs(finished, study):
    frames = finished[1]
    summary, mixtures = frames["summary"], frames["mixtures"]
    assert figure_names(validate_config(STUDY_CONFIG)) == list(figures.FIGURES)
    for name in figures.FIGURES:
        plot = figures.draw_figure(name, mixtures, study, frames["curves"])
        assert plot.series.height and not plot.missing, name
        assert plot.figure.axes[0].get_xlabel().startswith("n (items") and plot.figure.legends, name
    scores = figures.draw_figure("fig3_scores_by_n", mixtures, study).series
    assert set(scores["panel"]) == {"math", "summarization"}
    assert set(scores.filter(panel="math")["series"]) == {"small seen", "small unseen", "large seen", "large unseen"}
    large = scores.filter(panel="math", series="large unseen").sort("x")
    expected = (summary.filter(model="large", task="math", quantity="unseen", family="st_math")
                .group_by("n").agg(pl.col("value").mean()).sort("n"))
    assert large["x"].to_list() == [0, 100, 400, 1600]
    assert large["y"].to_list() == pytest.approx(expected["value"].to_list())
    assert set(large["seeds"]) == {2}
    # Perf. to EN: one line per trained task, values from the summary
    perf = figures.draw_figure("fig4_perf_to_en_multi_task", mixtures, study).series
    assert set(perf["series"]) == {"Math reasoning", "Summarization"}
    # a run with no scores is named on the figure, not dropped silently: its mixture is over the other seed
    examples = frames["examples"].filter(~((pl.col("model") == "small") & (pl.col("run") == "st_math-n400/seed1")))
    partial = tables.mixture_summary(*tables.cell_bootstrap(examples, study), study)
    plot = figures.draw_figure("fig3_scores_by_n", partial, study)
    assert plot.missing == ["small st_math-n400 math (1 of 2 seeds without scores)"]
    assert plot.series.filter(series="small seen", x=400)["seeds"].to_list() == [1]
    assert "small st_math-n400 math (1 of 2 seeds" in plot.figure.get_supxlabel().replace("\n", " ")
    absent = mixtures.filter(~((pl.col("model") == "small") & (pl.col("mixture") == "st_math-n400")))
    assert figures.draw_figure("fig3_scores_by_n", absent, study).missing == ["small st_math-n400 math (no scores)"]


def test_the_script_mix_figure_stars_each_lines_maximum(finished, study):
    plot = figures.draw_figure("fig6_script_mix", finished[1]["mixtures"], study)
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
    assert table.columns == ["family", "n", "seeds", *sorted(LANGS), "Avg"]
    assert table["seeds"].to_list() == [1, 2, 2, 2, 2]  # the base model is one run
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


def seed_examples(levels: dict[int, dict[str, float]], spread: float = 0.002) -> pl.DataFrame:
    """Example scores of one mixture (small, st_math-n100) trained with the given seeds: seed s scores
    ``levels[s][lang]`` on every test item, give or take ``spread``, in every language."""
    offsets = np.linspace(-spread, spread, ITEMS)
    rows = [{"model": "small", "run": f"st_math-n100/seed{seed}", "setting": "single_task", "family": "st_math",
             "mixture": "st_math-n100", "n": 100, "seed": seed, "task": "math", "metric": "math_accuracy",
             "lang": lang, "source_id": str(item), "score": by_lang[lang] + offsets[(item + seed) % ITEMS],
             "scores_file": f"results/runs/small/st_math-n100/seed{seed}/scores/math.parquet"}
            for seed, by_lang in levels.items() for lang in LANGS for item in range(ITEMS)]
    return pl.DataFrame(rows)


def test_a_mean_over_seeds_has_an_interval_that_holds_the_seed_to_seed_spread(study):
    """Seeds that disagree far more than their test items do: the figures' interval is the two-stage bootstrap's
    (seeds, then items), as wide as the standard error over seeds, not the average of each seed's narrow one."""
    seed_level = {0: 0.2, 1: 0.5, 2: 0.8}
    examples = seed_examples({seed: dict.fromkeys(LANGS, level) for seed, level in seed_level.items()})
    cells, replicates = tables.cell_bootstrap(examples, study)
    runs = tables.run_summary(examples, cells, replicates, study).filter(quantity="seen")
    averaged = runs.select(pl.col("ci_low", "ci_high").mean()).row(0)  # what the figures drew before
    assert averaged[1] - averaged[0] < 0.01 and not averaged[0] <= 0.2  # it excludes every other seed's mean
    mixture = tables.mixture_summary(cells, replicates, study).filter(quantity="seen").row(0, named=True)
    assert mixture["seeds"] == 3 and mixture["value"] == pytest.approx(0.5)
    assert mixture["ci_low"] < 0.3 and mixture["ci_high"] > 0.7
    # the resamples' spread is the bootstrap standard error of a mean over 3 seeds (item noise is ~0.001)
    means, resampled = bootstrap.seed_means(cells, replicates, MIXTURE_CELL_KEYS, study["analysis"]["seed"])
    standard_error = np.std(list(seed_level.values())) / math.sqrt(len(seed_level))
    assert resampled.std(axis=1) == pytest.approx(np.full(means.height, standard_error), rel=0.15)
    # the figure draws that interval, and says over how many seeds
    point = figures.draw_figure("fig3_scores_by_n", tables.mixture_summary(cells, replicates, study), study).series
    drawn = point.filter(series="small seen").row(0, named=True)
    assert (drawn["ci_low"], drawn["ci_high"], drawn["seeds"]) == (mixture["ci_low"], mixture["ci_high"], 3)


def test_ratios_over_seeds_stay_paired_by_seed(study):
    """Every seed scores twice as well in English as elsewhere, at very different levels: Perf. to EN is 0.5 in
    each resample because every language draws the same seeds (the English mean alone is wide)."""
    examples = seed_examples({seed: {lang: level * (2 if lang == "en" else 1) for lang in LANGS}
                              for seed, level in {0: 0.1, 1: 0.25, 2: 0.4}.items()})
    summary = tables.mixture_summary(*tables.cell_bootstrap(examples, study), study)
    perf = summary.filter(quantity="perf_to_en").row(0, named=True)
    english = summary.filter(quantity="english").row(0, named=True)
    assert perf["value"] == pytest.approx(0.5, abs=0.01)
    assert 0.49 < perf["ci_low"] <= perf["ci_high"] < 0.51
    assert english["ci_high"] - english["ci_low"] > 0.3


def test_perf_to_en_has_no_interval_where_too_many_resamples_leave_it_undefined(study):
    """Two seeds, one with English at 0: a quarter of the seed resamples draw that seed twice, so Perf. to EN is
    undefined there; an interval over the rest would assume English > 0. (Before: an interval was given.)"""
    examples = seed_examples({0: {lang: 0.0 if lang == "en" else 0.3 for lang in LANGS},
                              1: {lang: 0.4 for lang in LANGS}}, spread=0.0)
    summary = tables.mixture_summary(*tables.cell_bootstrap(examples, study), study)
    perf = summary.filter(quantity="perf_to_en").row(0, named=True)
    assert perf["value"] == pytest.approx(0.35 / 0.2)
    assert perf["ci_low"] is None and perf["ci_high"] is None
    low, high = bootstrap.interval(np.array([[*range(99), np.nan]]), 0.95, max_undefined=0.05)
    assert np.isfinite(low).all() and np.isfinite(high).all()  # 1% undefined: the interval stands


def test_perf_to_en_over_an_english_score_below_the_floor_gets_no_interval_and_is_not_drawn(study):
    """English 0.08 (as 4 right answers of 50), elsewhere 0.3: a ratio of 3.75 whose interval would span most of
    the axis. Below ``analysis.min_english_for_ratio`` (0.1) it keeps its value, gets no interval, and Fig 2 names
    it instead of drawing it; with a floor of 0 the same ratio gets its interval."""
    examples = seed_examples({0: {lang: 0.08 if lang == "en" else 0.3 for lang in LANGS}})
    cells, replicates = tables.cell_bootstrap(examples, study)
    perf = tables.mixture_summary(cells, replicates, study).filter(quantity="perf_to_en").row(0, named=True)
    assert perf["value"] == pytest.approx(3.75, rel=0.01) and perf["ci_low"] is None
    plot = figures.draw_figure("fig2_perf_to_en_single_task", tables.mixture_summary(cells, replicates, study),
                               study)
    assert plot.series.filter(pl.col("x") == 100).is_empty()
    assert any("st_math-n100 math (English too close to 0" in note for note in plot.undefined)
    assert any("(English too close to 0: 0.08, below the 0.1 floor)" in note for note in plot.undefined)
    no_floor = {**study, "analysis": {**study["analysis"], "min_english_for_ratio": 0.0}}
    perf = tables.mixture_summary(cells, replicates, no_floor).filter(quantity="perf_to_en").row(0, named=True)
    assert perf["ci_low"] == pytest.approx(3.75, rel=0.01)  # every item scores the same: a narrow interval


def test_curves_leave_unscored_examples_out_and_survive_an_empty_language_group(study):
    """A null score (a judge reply without a rating) is left out of the curve's points, not read as NaN; a study
    with no unseen language still gets its other curves. (Before: NaN curves, then a crash.)"""
    from xlt import curves

    examples = pl.concat([seed_examples({0: dict.fromkeys(LANGS, 0.1 + n / 4000)}).with_columns(
        run=pl.lit(f"st_math-n{n}/seed0"), mixture=pl.lit(f"st_math-n{n}"), n=pl.lit(n, dtype=pl.Int64))
        for n in (0, 100, 400, 1600)])
    examples = examples.with_columns(score=pl.when(pl.col("source_id") == "0").then(None).otherwise("score"))
    no_unseen = {**study, "languages": {**study["languages"], "unseen": []}}
    table = curves.efficiency_table(examples, no_unseen)
    fitted = table.filter(family="st_math")
    assert "unseen" not in fitted["group"].to_list()
    assert fitted.filter(group="seen")["start"].to_list() == [pytest.approx(0.1, abs=0.01)]


def test_one_seed_gives_the_item_bootstrap_unchanged(finished, study):
    """A study with one seed: the means over seeds are that seed's values and intervals, exactly."""
    examples = finished[1]["examples"].filter(pl.col("seed").is_null() | (pl.col("seed") == 0))
    cells, replicates = tables.cell_bootstrap(examples, study)
    means, resampled = bootstrap.seed_means(cells, replicates, MIXTURE_CELL_KEYS, study["analysis"]["seed"])
    order = cells.with_row_index("cell").sort(MIXTURE_CELL_KEYS)["cell"].to_numpy()  # seed_means' row order
    assert means.drop("seeds").equals(cells[order].select(*MIXTURE_CELL_KEYS, "score"))
    assert set(means["seeds"]) == {1} and np.array_equal(resampled, replicates[order], equal_nan=True)
    runs = tables.run_summary(examples, cells, replicates, study).drop("run", "seed", "unscored")
    mixtures = tables.mixture_summary(cells, replicates, study)
    assert mixtures.drop("seeds").equals(runs) and set(mixtures["seeds"]) == {1}
    assert np.array_equal(bootstrap.seed_weights(1, 50, 0), np.ones((50, 1)))
