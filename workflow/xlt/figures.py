"""The study's figures: the paper's Fig 2-8, 10-12 for whatever models, tasks and n the config has, and the
data-efficiency curves. Each figure is drawn from the analysis tables, written as PDF and PNG, and its plotted
series are written beside it as CSV (what tests and reviewers check, rather than pixels).

A point is a mixture's mean over its seeds (``xlt tables``' mixture summary), its band the interval over seeds
and test items; the CSV says how many seeds each point averages. A figure whose expected runs are not in the
tables says so in red under its panels instead of silently dropping points.

Usage::

    python -m xlt.cli figure fig3_scores_by_n --summary results/tables/mixture_summary.parquet --curves \
        --study '<json>' --out results/figures/fig3_scores_by_n.pdf --notes results/figures/fig3_scores_by_n.notes.json
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import textwrap
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import product
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import polars as pl  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402

from xlt.analysis import headline, saturating  # noqa: E402
from xlt.io import atomic_write, read_table, write_json, write_text  # noqa: E402
from xlt.provenance import write_provenance  # noqa: E402

SERIES_SCHEMA = {"panel": pl.String, "series": pl.String, "x": pl.Float64, "y": pl.Float64,
                 "ci_low": pl.Float64, "ci_high": pl.Float64, "seeds": pl.Int64}
GROUP_STYLE = {"seen": "-", "unseen": "--", "english": ":"}
TASK_TITLES = {"math": "Math reasoning", "summarization": "Summarization",
               "instruction_following": "Instruction following"}
plt.rcParams.update({"font.size": 10, "axes.titlesize": 11, "axes.labelsize": 10, "legend.fontsize": 9,
                     "figure.dpi": 100, "savefig.dpi": 150, "pdf.fonttype": 42})


@dataclass
class Plot:
    """A drawn figure, the series it shows (one row per point), the runs it expected but did not find, and
    the points it could not compute (a ratio over an English score of 0)."""
    figure: plt.Figure
    series: pl.DataFrame
    missing: list[str] = field(default_factory=list)
    undefined: list[str] = field(default_factory=list)


def task_title(task: str, study: dict[str, Any]) -> str:
    return f"{TASK_TITLES.get(task, task)} ({study['tasks'][task]['metric']})"


def families_in(study: dict[str, Any], setting: str) -> list[str]:
    return [family for family, spec in study["families"].items() if spec["setting"] == setting]


def model_colors(study: dict[str, Any]) -> dict[str, Any]:
    """One colour per model, ordered by size (the paper's colour = model size)."""
    models = sorted(study["models"], key=lambda model: study["models"][model]["params_m"])
    cmap = plt.get_cmap("viridis")
    return {model: cmap(0.15 + 0.7 * i / max(len(models) - 1, 1)) for i, model in enumerate(models)}


def model_label(model: str, study: dict[str, Any]) -> str:
    size = study["models"][model]["params_m"]
    return f"{model} ({size:g}M)" if size < 1000 else f"{model} ({size / 1000:g}B)"


def missing_runs(summary: pl.DataFrame, study: dict[str, Any], families: list[str], tasks: list[str]
                 ) -> list[str]:
    """Expected mixtures of ``families`` (per the config) whose headline scores for one of ``tasks`` average
    fewer seeds than the config has, or none."""
    scored = (headline(summary, study).filter(pl.col("value").is_not_null())
              .group_by("model", "mixture", "task").agg(pl.col("seeds").max()))
    found = {(model, mixture, task): seeds for model, mixture, task, seeds in scored.iter_rows()}
    expected = Counter((run["model"], run["mixture"], run["family"]) for run in study["runs"]
                       if run["family"] in families)
    notes = []
    for (model, mixture, family), seeds in expected.items():
        for task in (task for task in tasks if task in study["families"][family]["tasks"]):
            averaged = found.get((model, mixture, task), 0)
            if not averaged:
                notes.append(f"{model} {mixture} {task} (no scores)")
            elif averaged < seeds:
                notes.append(f"{model} {mixture} {task} ({seeds - averaged} of {seeds} seeds without scores)")
    return notes


def by_n(points: pl.DataFrame) -> pl.DataFrame:
    """The defined points of one line (a mixture family's means over seeds), sorted by n."""
    return points.drop_nulls("value").sort("n")


def family_suffix(family: str, families: list[str]) -> str:
    """What tells a family's line apart where several families of a setting train the task (none otherwise)."""
    return f" ({family})" if len(families) > 1 else ""


def panels(count: int, width: float = 4.3, height: float = 3.3) -> tuple[plt.Figure, list[plt.Axes]]:
    columns = min(count, 3) or 1
    rows = math.ceil(max(count, 1) / columns)
    figure, axes = plt.subplots(rows, columns, figsize=(max(width * columns, 7.5), height * rows + 1.2),
                                squeeze=False, layout="constrained")
    flat = list(axes.flat)
    for extra in flat[count:]:
        extra.set_visible(False)
    return figure, flat[:count]


def score_axis(ax: plt.Axes) -> None:
    """A score axis from 0 spanning at least 0.1 (scores lie in [0, 1]): noise near 0 stays flat."""
    ax.set_ylim(bottom=0, top=max(ax.get_ylim()[1], 0.1))


def n_axis(ax: plt.Axes, grid: list[int]) -> None:
    """n on a symmetric log axis when the grid spans orders of magnitude (0, 100, ..., 5000), else linear."""
    positive = sorted(n for n in grid if n > 0)
    if positive and positive[-1] / positive[0] >= 20:
        ax.set_xscale("symlog", linthresh=positive[0])
    ax.set_xticks(sorted(set(grid)))
    ax.set_xticklabels([str(n) for n in sorted(set(grid))], rotation=45 if len(set(grid)) > 6 else 0)
    ax.set_xlabel("n (items per non-English language)")
    ax.grid(alpha=0.3)


def model_handles(rows: list[dict[str, Any]], colors: dict[str, Any], study: dict[str, Any]) -> list[Line2D]:
    """Legend entries (colour = model) for the models drawn; series are named ``"{model} {what}"``."""
    drawn = {row["series"].split(" ", 1)[0] for row in rows}
    return [Line2D([], [], color=colors[model], marker="o", label=model_label(model, study)) for model in colors
            if model in drawn]


def draw(ax: plt.Axes, points: pl.DataFrame, panel: str, series: str, rows: list[dict[str, Any]],
         **style: Any) -> None:
    """One line with its bootstrap band; records its points in ``rows``."""
    x, y = points["n"].to_numpy().astype(float), points["value"].to_numpy().astype(float)
    ax.plot(x, y, marker=style.pop("marker", "o"), markersize=4, label=series, **style)
    low, high = points["ci_low"].to_numpy().astype(float), points["ci_high"].to_numpy().astype(float)
    if len(x) > 1:
        ax.fill_between(x, low, high, color=style.get("color"), alpha=0.12, linewidth=0)
    else:
        ax.errorbar(x, y, yerr=np.vstack([y - low, high - y]), color=style.get("color"), capsize=3,
                    linewidth=1)
    rows += series_rows(panel, series, points)


def series_rows(panel: str, series: str, points: pl.DataFrame) -> list[dict[str, Any]]:
    """The CSV rows (``SERIES_SCHEMA``) of one plotted line's points."""
    values = points.select("n", "value", "ci_low", "ci_high", "seeds").iter_rows()
    return [{"panel": panel, "series": series, "x": float(n), "y": value, "ci_low": low, "ci_high": high,
             "seeds": seeds} for n, value, low, high, seeds in values]


def finish_figure(figure: plt.Figure, title: str, notes: list[str], handles: list[Any] | None = None) -> None:
    """Title, one legend for all panels (on the right) and, under them in red, what is not plotted and why."""
    characters = int(figure.get_figwidth() * 11)
    figure.suptitle(textwrap.fill(title, characters))
    if handles is None:
        pairs = [pair for ax in figure.axes for pair in zip(*ax.get_legend_handles_labels())]
        unique = dict((label, handle) for handle, label in pairs)
        handles = [Line2D([], [], label=label, color=h.get_color(), linestyle=h.get_linestyle(),
                          marker=h.get_marker()) for label, h in unique.items()]
    if handles:
        figure.legend(handles=handles, loc="outside right center", frameon=False)
    if notes:
        shown = "; ".join(notes[:8]) + (f"; and {len(notes) - 8} more" if len(notes) > 8 else "")
        figure.supxlabel(textwrap.fill(f"Not plotted: {shown}", int(characters * 1.3)), color="firebrick",
                         fontsize=8)


def perf_to_en_figure(summary: pl.DataFrame, study: dict[str, Any], setting: str) -> Plot:
    """Fig 2 (single-task) / Fig 4 (multi-task) / Fig 10: Perf. to EN vs n, a panel per model, a line per
    task (each family of the setting scored on the tasks it trains)."""
    families = families_in(study, setting)
    trained = [(family, task) for family in families for task in study["families"][family]["tasks"]]
    data = headline(summary, study).filter(pl.col("quantity") == "perf_to_en", pl.col("family").is_in(families))
    models = [m for m in study["models"] if m in data["model"].unique().to_list()] or list(study["models"])[:1]
    figure, axes = panels(len(models))
    rows: list[dict[str, Any]] = []
    colors = plt.get_cmap("tab10")
    for ax, model in zip(axes, models):
        for i, (family, task) in enumerate(trained):
            # a ratio whose interval is undefined (English 0 on too many resamples) is not drawn: one lucky
            # English answer would make any ratio
            points = by_n(data.filter(model=model, family=family, task=task)).filter(pl.col("ci_low").is_not_null())
            if points.height:
                label = TASK_TITLES.get(task, task) + family_suffix(family, families)
                draw(ax, points, model_label(model, study), label, rows, color=colors(i % 10))
        ax.axhline(1.0, color="grey", linewidth=0.8, linestyle=":")
        n_axis(ax, sorted({n for family in families for n in study["families"][family]["n"]}))
        ax.set_ylabel("Perf. to EN (non-English / English)")
        ax.set_title(model_label(model, study))
    missing = missing_runs(summary, study, families, list(study["tasks"]))
    not_drawn = (headline(summary, study)
                 .filter(pl.col("quantity") == "perf_to_en", pl.col("ci_low").is_null())
                 .join(pl.DataFrame(trained, schema=["family", "task"], orient="row"), on=["family", "task"],
                       how="semi"))
    undefined_notes = [f"{r['model']} {r['mixture']} {r['task']} (English score 0)"
                       for r in not_drawn.filter(pl.col("value").is_null()).iter_rows(named=True)]
    floor = study["analysis"]["min_english_for_ratio"]
    english = (headline(summary, study).filter(pl.col("quantity") == "english")
               .select("model", "mixture", "task", english=pl.col("value")))

    def too_close(row: dict[str, Any]) -> str:
        below = row["english"] is not None and row["english"] < floor
        why = f": {row['english']:.2f}, below the {floor:g} floor" if below else " for an interval"
        return f"{row['model']} {row['mixture']} {row['task']} (English too close to 0{why})"

    undefined_notes += [too_close(row) for row in not_drawn.filter(pl.col("value").is_not_null())
                        .join(english, on=["model", "mixture", "task"], how="left", nulls_equal=True)
                        .iter_rows(named=True)]
    finish_figure(figure, f"Perf. to EN vs n, {setting.replace('_', '-')}", missing + undefined_notes)
    return Plot(figure, pl.DataFrame(rows, schema=SERIES_SCHEMA), missing, undefined_notes)


def scores_by_n_figure(summary: pl.DataFrame, study: dict[str, Any], setting: str) -> Plot:
    """Fig 3 (single-task) / Fig 5 (multi-task) / Fig 11: the headline score vs n, a panel per task, colour =
    model size, solid = seen-language average, dashed = unseen (a line per family where several train the
    task)."""
    families = families_in(study, setting)
    tasks = [task for task in study["tasks"] if any(task in study["families"][f]["tasks"] for f in families)]
    data = headline(summary, study).filter(pl.col("family").is_in(families))
    figure, axes = panels(len(tasks))
    colors, rows = model_colors(study), []
    bases = headline(summary, study).filter(pl.col("mixture").is_null(), pl.col("quantity") == "seen")
    for ax, task in zip(axes, tasks):
        trained_by = [f for f in families if task in study["families"][f]["tasks"]]
        for model, family, group in product(colors, trained_by, ("seen", "unseen")):
            points = by_n(data.filter(model=model, family=family, task=task, quantity=group))
            if points.height:
                draw(ax, points, task, f"{model} {group}{family_suffix(family, trained_by)}", rows,
                     color=colors[model], linestyle=GROUP_STYLE[group])
        for model in colors:  # the untrained base's seen average: what training has to beat
            base = bases.filter(model=model, task=task)
            if base.height and base["value"][0] is not None:
                ax.axhline(base["value"][0], color=colors[model], linewidth=0.9, linestyle=":")
        n_axis(ax, sorted({n for f in trained_by for n in study["families"][f]["n"]}))
        score_axis(ax)
        ax.set_ylabel(study["tasks"][task]["metric"])
        ax.set_title(task_title(task, study))
    handles = model_handles(rows, colors, study)
    handles += [Line2D([], [], color="black", linestyle=GROUP_STYLE[g], label=f"{g} languages")
                for g in ("seen", "unseen")]
    handles.append(Line2D([], [], color="black", linewidth=0.9, linestyle=":", label="untrained base, seen"))
    missing = missing_runs(summary, study, families, tasks)
    finish_figure(figure, f"Scores vs n, {setting.replace('_', '-')} (solid: seen, dashed: unseen)", missing, handles)
    return Plot(figure, pl.DataFrame(rows, schema=SERIES_SCHEMA), missing)


def script_mix_figure(summary: pl.DataFrame, study: dict[str, Any]) -> Plot:
    """Fig 6-8: script mixes. A panel per model x task; per training mix (each script-mix family, and the
    single-task family with every seen language for reference) a Latin and a non-Latin group line; a star at
    each line's maximum."""
    mixes = families_in(study, "script_mix")
    tasks = [t for t in study["tasks"] if any(t in study["families"][f]["tasks"] for f in mixes)]
    groups = [f"script:{name}" for name in study["languages"]["script_groups"]]
    data = headline(summary, study)
    cells = sorted({(r["model"], task) for r in study["runs"] if r["family"] in mixes
                    for task in tasks if task in study["families"][r["family"]]["tasks"]})
    figure, axes = panels(len(cells))
    rows, colors = [], plt.get_cmap("tab10")
    for ax, (model, task) in zip(axes, cells):
        reference = [f for f in families_in(study, "single_task") if task in study["families"][f]["tasks"]]
        panel = f"{model_label(model, study)}, {TASK_TITLES.get(task, task)}"
        for i, family in enumerate([*mixes, *reference]):
            if task not in study["families"][family]["tasks"]:
                continue
            languages = "+".join(study["families"][family]["languages"])
            for group, style in zip(groups, ("-", "--", "-.", ":")):
                points = by_n(data.filter(model=model, family=family, task=task, quantity=group))
                if not points.height:
                    continue
                name = group.removeprefix("script:").replace("_", "-")
                draw(ax, points, panel, f"en+{languages}: {name}", rows, color=colors(i % 10), linestyle=style)
                best = points.row(int(np.argmax(points["value"].to_numpy())), named=True)
                ax.plot(best["n"], best["value"], marker="*", markersize=13, color=colors(i % 10),
                        markeredgecolor="black", linestyle="none", zorder=5)
        n_axis(ax, sorted({n for f in [*mixes, *reference] for n in study["families"][f]["n"]}))
        score_axis(ax)
        ax.set_ylabel(study["tasks"][task]["metric"])
        ax.set_title(panel)
    missing = missing_runs(summary, study, mixes, tasks)
    finish_figure(figure, "Script mixes: Latin vs non-Latin evaluation languages (star: each line's maximum)", missing)
    return Plot(figure, pl.DataFrame(rows, schema=SERIES_SCHEMA), missing)


def gap_figure(summary: pl.DataFrame, study: dict[str, Any]) -> Plot:
    """Fig 12: seen-minus-unseen average vs n, a panel per task, colour = model, line style = setting (a line
    per family where several of a setting train the task)."""
    settings = {"single_task": "-", "multi_task": "--"}
    families = [f for s in settings for f in families_in(study, s)]
    tasks = [t for t in study["tasks"] if any(t in study["families"][f]["tasks"] for f in families)]
    data = headline(summary, study).filter(pl.col("quantity") == "seen_unseen_gap")
    figure, axes = panels(len(tasks))
    colors, rows = model_colors(study), []
    for ax, task in zip(axes, tasks):
        for model, (setting, style) in product(colors, settings.items()):
            trained_by = [f for f in families_in(study, setting) if task in study["families"][f]["tasks"]]
            for family in trained_by:
                points = by_n(data.filter(model=model, family=family, task=task))
                if points.height:
                    draw(ax, points, task, f"{model} {setting}{family_suffix(family, trained_by)}", rows,
                         color=colors[model], linestyle=style)
        ax.axhline(0.0, color="grey", linewidth=0.8, linestyle=":")
        n_axis(ax, sorted({n for f in families if task in study["families"][f]["tasks"]
                           for n in study["families"][f]["n"]}))
        ax.set_ylabel("seen - unseen average")
        ax.set_title(task_title(task, study))
    handles = model_handles(rows, colors, study)
    handles += [Line2D([], [], color="black", linestyle=style, label=setting.replace("_", "-"))
                for setting, style in settings.items() if families_in(study, setting)]
    missing = missing_runs(summary, study, families, tasks)
    finish_figure(figure, "Seen-unseen gap vs n", missing, handles)
    return Plot(figure, pl.DataFrame(rows, schema=SERIES_SCHEMA), missing)


def efficiency_figure(summary: pl.DataFrame, study: dict[str, Any], curves: pl.DataFrame) -> Plot:
    """Data-efficiency curves: the measured group averages (points), the fitted saturating curve and, where it
    lies inside the grid, n_plateau (a vertical tick); a panel per family x task, colour = model."""
    fitted = curves.filter(pl.col("plateau").is_not_null())
    keys = fitted.select("family", "task").unique(maintain_order=True).rows()
    figure, axes = panels(len(keys))
    colors, rows = model_colors(study), []
    data = headline(summary, study)
    for ax, (family, task) in zip(axes, keys):
        panel = f"{family}: {TASK_TITLES.get(task, task)}"
        for curve in fitted.filter(family=family, task=task).iter_rows(named=True):
            color, style = colors[curve["model"]], GROUP_STYLE[curve["group"]]
            points = by_n(data.filter(model=curve["model"], family=family, task=task, quantity=curve["group"]))
            ax.plot(points["n"], points["value"], marker="o", markersize=4, linestyle="none", color=color)
            dense = np.linspace(0, curve["max_n"], 200)
            ax.plot(dense, saturating(dense, curve["start"], curve["plateau"], curve["scale"]), color=color,
                    linestyle=style)
            if curve["status"] == "ok":
                ax.axvline(curve["n_plateau"], color=color, linestyle=style, linewidth=0.8, alpha=0.6)
            rows += series_rows(panel, f"{curve['model']} {curve['group']}", points)
        n_axis(ax, study["families"][family]["n"])
        score_axis(ax)
        ax.set_ylabel(study["tasks"][task]["metric"])
        ax.set_title(panel)
    handles = model_handles(rows, colors, study)
    handles += [Line2D([], [], color="black", linestyle=style, label=group) for group, style in GROUP_STYLE.items()]
    fraction = round(study["analysis"]["plateau_fraction"] * 100)
    missing = missing_runs(summary, study, list(fitted["family"].unique()), list(fitted["task"].unique()))
    finish_figure(figure, f"Data efficiency: fitted curves (vertical: n closing {fraction}% of the gain)", missing,
           handles)
    return Plot(figure, pl.DataFrame(rows, schema=SERIES_SCHEMA), missing)


# How each figure of xlt.registry.FIGURES is drawn (which grids get it is the registry's entry).
FIGURES: dict[str, tuple[Callable[..., Plot], dict[str, Any]]] = {
    "fig2_perf_to_en_single_task": (perf_to_en_figure, {"setting": "single_task"}),
    "fig3_scores_by_n": (scores_by_n_figure, {"setting": "single_task"}),
    "fig4_perf_to_en_multi_task": (perf_to_en_figure, {"setting": "multi_task"}),
    "fig5_scores_by_n_multi_task": (scores_by_n_figure, {"setting": "multi_task"}),
    "fig6_script_mix": (script_mix_figure, {}),
    "fig12_seen_unseen_gap": (gap_figure, {}),
    "data_efficiency": (efficiency_figure, {}),
}


def draw_figure(name: str, summary: pl.DataFrame, study: dict[str, Any], curves: pl.DataFrame | None = None
                ) -> Plot:
    if name not in FIGURES:
        raise ValueError(f"unknown figure {name!r}; the figures are: {', '.join(FIGURES)}")
    function, options = FIGURES[name]
    if name == "data_efficiency":
        if curves is None:
            raise ValueError("the data_efficiency figure needs --curves (xlt curves' table)")
        options = {"curves": curves}
    return function(summary, study, **options)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="xlt figure", description=__doc__.splitlines()[0])
    parser.add_argument("name", choices=list(FIGURES))
    parser.add_argument("--summary", required=True,
                        help="the per-mixture summary, means over seeds (xlt tables results --mixtures)")
    parser.add_argument("--study", required=True, help="JSON: xlt.grid.analysis_spec")
    parser.add_argument("--curves", nargs="?", default=None, help="the data-efficiency table (data_efficiency only)")
    parser.add_argument("--out", required=True, help="the PDF; the PNG and the plotted series (CSV) go beside it")
    parser.add_argument("--notes", required=True, help="JSON: what the figure could not plot (the report shows it)")
    args = parser.parse_args(argv)
    started = time.time()
    study = json.loads(args.study)
    inputs = [args.summary] + ([args.curves] if args.curves else [])
    plot = draw_figure(args.name, read_table(args.summary), study,
                       read_table(args.curves) if args.curves else None)
    pdf = Path(args.out)
    outputs = [pdf, pdf.with_suffix(".png"), pdf.with_suffix(".csv")]
    atomic_write(outputs[0], lambda tmp: plot.figure.savefig(tmp, format="pdf"))
    atomic_write(outputs[1], lambda tmp: plot.figure.savefig(tmp, format="png"))
    write_text(plot.series.write_csv(), outputs[2])
    write_json({"missing": plot.missing, "undefined": plot.undefined}, args.notes)
    outputs.append(Path(args.notes))
    write_provenance(pdf, stage="figure", module=__name__, params={"figure": args.name, "study": study,
                                                                   "missing": plot.missing,
                                                                   "undefined": plot.undefined},
                     inputs=inputs, outputs=outputs, started=started)
    print(f"{args.name}: {plot.series.height} points, {len(plot.missing)} missing runs -> {pdf}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
