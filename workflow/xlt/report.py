"""The study's self-contained HTML report: config, run table, every figure, the data-efficiency and Spearman
tables, the per-language tables, and each figure's and table's provenance (with the audit's verdict).

Usage::

    python -m xlt.cli report --config '<json>' --study '<json>' --summary results/tables/run_summary.parquet \
        --efficiency results/tables/data_efficiency.parquet --figures results/figures/*.png \
        --notes results/figures/*.notes.json --tables results/tables/*.csv --out results/report.html
"""

from __future__ import annotations

import argparse
import base64
import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jinja2
import polars as pl
import yaml
from markupsafe import escape

from xlt import __version__, audit
from xlt.analysis import headline
from xlt.costs import cost_tables
from xlt.io import read_table, write_text
from xlt.provenance import code_version, write_provenance
from xlt.registry import FIGURES, METRICS
from xlt.secrets import redact

TEMPLATE = jinja2.Template("""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{{ study }}: xlt report</title>
<style>
body { font-family: system-ui, sans-serif; max-width: 1200px; margin: 2em auto; padding: 0 1em; color: #222; }
h1 { margin-bottom: 0.2em; } .meta { color: #666; }
table { border-collapse: collapse; font-size: 0.85em; margin: 0.5em 0 1.5em; }
th, td { border: 1px solid #ccc; padding: 2px 6px; text-align: right; } th { background: #f3f3f3; }
td:first-child, th:first-child { text-align: left; }
figure { margin: 1.5em 0; } figure img { max-width: 100%; border: 1px solid #eee; }
figcaption { font-size: 0.9em; color: #444; } .problem { color: #b22222; } pre { background: #f7f7f7;
padding: 0.6em; overflow-x: auto; font-size: 0.8em; } details { margin: 0.3em 0 1em; }
</style></head><body>
<h1>{{ study }}</h1>
<p class="meta">xlt {{ version }}, commit {{ commit }}; report made {{ created }}. Scores are the headline metric
of each task; intervals are {{ confidence }}% paired bootstrap intervals over test items and, for means over a
mixture's seeds (the figures and data-efficiency curves), over seeds too.</p>
<nav>{% for figure in figures %}<a href="#{{ figure.name }}">{{ figure.name }}</a> · {% endfor %}
<a href="#runs">runs</a> · <a href="#efficiency">data efficiency</a> · <a href="#tables">tables</a> ·
<a href="#cost">cost</a> · <a href="#config">config</a></nav>
<h2 id="runs">Runs</h2>
<p>Headline score per run and task: English / seen-language average / unseen-language average; "k unscored":
examples without a score (an LLM judge reply without a rating), left out of the averages.</p>
{{ run_table }}
<h3 id="metrics">What produced each number</h3>
<p>Each task's metrics, its headline first; a ROUGE-L is comparable only with numbers of the same scorer.</p>
{{ metrics }}
<h2>Figures</h2>
{% for figure in figures %}
<figure id="{{ figure.name }}"><img alt="{{ figure.name }}" src="data:image/png;base64,{{ figure.png }}">
<figcaption><b>{{ figure.name }}</b>{% for note in figure.notes %}<br><span class="problem">{{ note }}</span>
{% endfor %}</figcaption>
{{ figure.provenance }}</figure>
{% endfor %}
<h2 id="efficiency">Data efficiency</h2>
<p>n per non-English language at which the fitted saturating curve closes {{ fraction }}% of the change from
n=0 to its plateau (status <i>beyond_grid</i>: extrapolated past the largest n measured).</p>
{{ efficiency }}
<h2 id="tables">Tables</h2>
{% for table in tables %}<h3>{{ table.name }}</h3>{{ table.html }}{{ table.provenance }}{% endfor %}
<h2 id="cost">Cost</h2>
<p>Measured from every job's provenance (the GPUs and CPU threads its process held, times its seconds from
import to the last artifact; a job counted once), beside what <code>xlt plan</code> predicted for the same jobs.
Per stage and per run over the lineage of everything this report shows; per figure over that figure's lineage
(the plan: the figure's own runs and the jobs all figures share).</p>
{% for table in costs %}<h3>{{ table.name }}</h3>{{ table.html }}{% endfor %}
<h2 id="config">Study config</h2>
<pre>{{ config }}</pre>
</body></html>
""", autoescape=False)


def html_table(frame: pl.DataFrame) -> str:
    return frame.to_pandas().to_html(index=False, float_format=lambda v: f"{v:.3f}", na_rep="–", border=0)


def provenance_html(tree: audit.Node) -> str:
    """An artifact's provenance and audit verdict (``tree``: its ``audit.lineage``), folded."""
    counts = audit.summary(tree)
    record, code = tree.record, tree.record.get("code", {})
    problems = [p for node in audit.walk(tree) for p in node.problems]
    verdict = ("lineage intact" if not problems else
               f"<span class='problem'>{len(problems)} problem(s) in its lineage</span>")
    details = {"stage": record.get("stage"), "created": record.get("created"), "code": code,
               "inputs": record.get("inputs"), "packages": record.get("environment", {}).get("packages")}
    listed = "".join(f"<br><span class='problem'>{p}</span>" for p in problems[:10])
    return (f"<details><summary>provenance: {counts['artifacts']} artifacts back to the raw data, {verdict}"
            f"</summary>{listed}<pre>{escape(json.dumps(redact(details), indent=1, sort_keys=True))}</pre>"
            f"</details>")


def run_table(summary: pl.DataFrame, study: dict[str, Any]) -> pl.DataFrame:
    """One row per run, a column per task: 'English / seen / unseen' of the headline metric (mean over seeds
    is not taken: every seed is its own row)."""
    rows = (headline(summary, study).filter(pl.col("quantity").is_in(["english", "seen", "unseen"]))
            .with_columns(pl.col("value").map_elements(lambda v: f"{v:.3f}", return_dtype=pl.String)
                          .fill_null("–")))
    cells = (rows.group_by("model", "run", "setting", "task")
             .agg(pl.col("value").sort_by(pl.col("quantity").replace({"english": "0", "seen": "1", "unseen": "2"}))
                  .str.join(" / "), pl.col("unscored").max())
             .with_columns(value=pl.when(pl.col("unscored") > 0)  # judge replies without a rating
                           .then(pl.format("{} ({} unscored)", "value", "unscored")).otherwise("value"))
             .pivot(on="task", index=["model", "run", "setting"], values="value"))
    tasks = [task for task in study["tasks"] if task in cells.columns]
    return (cells.sort("model", pl.col("run") != "base", "run").select("model", "run", "setting", *tasks)
            .with_columns(pl.col(tasks).fill_null("not evaluated")))  # a single-task run on another task


def metrics_table(config: dict[str, Any]) -> pl.DataFrame:
    """Per task and metric: the scorer and tokenization behind its numbers (``xlt.registry.METRICS``)."""
    return pl.DataFrame([{"task": task, "metric": metric, "headline": i == 0, "scorer": METRICS[metric].description}
                         for task, spec in config["tasks"].items() for i, metric in enumerate(spec["metrics"])],
                        schema={"task": pl.String, "metric": pl.String, "headline": pl.Boolean, "scorer": pl.String})


def build_report(config: dict[str, Any], study: dict[str, Any], summary: str, efficiency: str,
                 figures: list[str], tables: list[str], notes: list[str] = ()) -> str:
    """The report's HTML; ``notes``: each figure's notes file (``xlt figure --notes``), in ``figures`` order."""
    if len(notes) != len(figures):
        raise ValueError(f"{len(figures)} figures but {len(notes)} notes files")
    summary_table = read_table(summary)
    # each artifact's lineage read once: its provenance block and the cost tables both use it
    lineages = {str(path): audit.lineage(path)
                for path in [*(Path(png).with_suffix(".pdf") for png in figures), *tables, efficiency]}
    figure_parts, study_figures = [], {}
    for png, notes_file in zip(map(Path, figures), notes):
        tree = lineages[str(png.with_suffix(".pdf"))]
        not_plotted = json.loads(Path(notes_file).read_text(encoding="utf-8"))
        name = png.with_suffix("").as_posix().removeprefix("results/figures/")
        figure_parts.append({"name": name, "png": base64.b64encode(png.read_bytes()).decode(),
                             "notes": [f"not plotted: {m}" for m in not_plotted["missing"] + not_plotted["undefined"]],
                             "provenance": provenance_html(tree)})
        if name in FIGURES:
            study_figures[name] = tree
    table_parts = [{"name": Path(path).with_suffix("").as_posix().removeprefix("results/tables/"),
                    "html": html_table(pl.read_csv(path)), "provenance": provenance_html(lineages[str(path)])}
                   for path in tables]
    curves = read_table(efficiency).select(
        "model", "family", "task", "group", "points", "seeds", "start", "plateau", "plateau_ci_low",
        "plateau_ci_high", "n_plateau", "n_plateau_ci_low", "n_plateau_ci_high", "status")
    costs = cost_tables(config, study_figures, list(lineages.values()))
    code = code_version()
    return TEMPLATE.render(
        study=config["study"], version=__version__,
        commit=(code["git_commit"] or "unknown")[:10] + (" (dirty)" if code["git_dirty"] else ""),
        created=datetime.now(UTC).isoformat(timespec="seconds"),
        confidence=round(study["analysis"]["confidence"] * 100),
        fraction=round(study["analysis"]["plateau_fraction"] * 100),
        run_table=html_table(run_table(summary_table, study)), metrics=html_table(metrics_table(config)),
        figures=figure_parts,
        efficiency=html_table(curves) + provenance_html(lineages[str(efficiency)]), tables=table_parts,
        costs=[{"name": f"per {name[:-1]}", "html": html_table(frame)} for name, frame in costs.items()],
        config=escape(yaml.safe_dump(redact(config), sort_keys=False, allow_unicode=True)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="xlt report", description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True, help="JSON: the validated study config")
    parser.add_argument("--study", required=True, help="JSON: xlt.grid.analysis_spec")
    parser.add_argument("--summary", required=True)
    parser.add_argument("--efficiency", required=True)
    parser.add_argument("--figures", nargs="*", default=[], help="PNG files (their PDFs carry the provenance)")
    parser.add_argument("--notes", nargs="*", default=[], help="each figure's notes (JSON), in --figures order")
    parser.add_argument("--tables", nargs="*", default=[], help="CSV tables")
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    started = time.time()
    html = build_report(json.loads(args.config), json.loads(args.study), args.summary, args.efficiency,
                        args.figures, args.tables, args.notes)
    write_text(html, args.out)
    write_provenance(args.out, stage="report", module=__name__, params={"config": json.loads(args.config)},
                     inputs=[args.summary, args.efficiency, *args.figures, *args.notes, *args.tables],
                     outputs=[args.out], started=started)
    print(f"{len(args.figures)} figures, {len(args.tables)} tables -> {args.out} ({len(html) // 1024} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
