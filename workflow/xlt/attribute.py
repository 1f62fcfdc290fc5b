"""The attribute stage (study B): TracInCP influence of a run's training examples on test examples in every
language, across the run's kept checkpoints, and the analyses of Choenni et al. (2023) on it.

Four steps, one rule each (``workflow/rules/attribute.smk``):

- ``examples``: the attributed items of one run: its mixture's training items (all, or a seeded sample; row
  ``index`` = score row) and, per task it trains on, the first ``test_items_per_language`` evaluation items of
  every language (the items of ``results/eval/{task}/prompts.parquet``) with their reference replies from the
  test split (``index`` = score column).
- ``scores``: one shard (an index range) of training items against every test item, per kept checkpoint: the
  dot and cosine terms of TracIn (``xlt.tracin``), written atomically, so a killed job redoes only its shard.
- ``tables``: the analyses (``xlt.influence``) over the shards: language shares of the top-k proponents and
  opponents (TracInCP over all checkpoints, and each checkpoint's own term), reinforce vs complement, zero-shot
  languages, imbalance, and the sensitivity of the headline shares to k; dot and cosine both.
- ``figure``: the share heatmap, shares over checkpoints, and reinforce vs complement bars of one run.

Usage::

    python -m xlt.cli attribute examples --train results/mixtures/mt-n30/seed0/train.parquet \
        --test resources/datasets/math/test.parquet --prompts results/eval/math/prompts.parquet \
        --spec '{"test_items_per_language": 10, "train_items": null, "seed": 0}' \
        --out results/runs/tiny_1m/mt-n30/seed0/attribution/examples.parquet
    python -m xlt.cli attribute scores --examples .../attribution/examples.parquet --summary .../training.json \
        --model tiny_1m --spec '<json: model entry, base, max_length and the attribution settings>' \
        --shard 0 --shards 1 --out .../attribution/scores/shard0-of1.parquet
    python -m xlt.cli attribute tables --examples ... --scores .../scores/shard*.parquet --spec '<json>' \
        --shares ... --matrix ... --reinforce ... --zero-shot ... --imbalance ... --sensitivity ...
    python -m xlt.cli attribute figure shares --shares .../shares.parquet --reinforce .../reinforce.csv \
        --spec '<json>' --out results/figures/attribution/tiny_1m/mt-n30/seed0/shares.pdf --notes ...
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import polars as pl  # noqa: E402
import torch  # noqa: E402

from xlt import influence  # noqa: E402
from xlt.gradients import Projector, describe_layers, gradient_layers  # noqa: E402
from xlt.io import atomic_write, read_csv_table, read_table, write_json, write_parquet, write_text  # noqa: E402
from xlt.loading import load_checkpoint  # noqa: E402
from xlt.provenance import write_provenance  # noqa: E402
from xlt.tracin import DTYPES, Checkpoint, kept_checkpoints, tracin_scores  # noqa: E402

EXAMPLE_COLUMNS = ["role", "index", "id", "source_id", "task", "lang", "messages"]
NORMALISATIONS = ("cosine", "dot")

# ---- examples ----------------------------------------------------------------------------------------------


def select_examples(train: pl.DataFrame, tests: list[pl.DataFrame], prompts: list[pl.DataFrame],
                    items_per_language: int, train_items: int | None, seed: int) -> pl.DataFrame:
    """The attributed training items (a seeded sample when ``train_items`` is smaller than the mixture) and the
    test items: per task, the first ``items_per_language`` source items of the evaluation set (sorted), in every
    language the evaluation set has, with the test split's full conversation (prompt and reference reply)."""
    if train_items is not None and train_items < train.height:
        rng = np.random.default_rng(seed)
        train = train.with_row_index("_row").filter(
            pl.col("_row").is_in(np.sort(rng.permutation(train.height)[:train_items]).tolist())).drop("_row")
    chosen = []
    for test, prompt in zip(tests, prompts, strict=True):
        sources = prompt["source_id"].unique().sort().head(items_per_language)
        wanted = prompt.filter(pl.col("source_id").is_in(sources.implode()))
        rows = test.join(wanted.select("id"), on="id", how="semi")
        missing = wanted.join(test, on="id", how="anti")
        if missing.height:
            raise ValueError(f"evaluation items {missing['id'].head(3).to_list()} are not in the test split")
        chosen.append(rows.sort("task", "lang", "source_id"))
    test_rows = pl.concat(chosen)
    return pl.concat([
        train.select(EXAMPLE_COLUMNS[2:]).with_row_index("index").with_columns(role=pl.lit("train")),
        test_rows.select(EXAMPLE_COLUMNS[2:]).with_row_index("index").with_columns(role=pl.lit("test")),
    ]).with_columns(pl.col("index").cast(pl.Int64)).select(EXAMPLE_COLUMNS)


def split_roles(examples: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    return (examples.filter(role="train").sort("index"), examples.filter(role="test").sort("index"))


# ---- scores ------------------------------------------------------------------------------------------------


def shard_range(items: int, shard: int, shards: int) -> tuple[int, int]:
    """The index range [start, stop) of shard ``shard`` of ``shards`` over ``items`` training items."""
    if not 0 <= shard < shards:
        raise ValueError(f"shard {shard} is not in 0..{shards - 1}")
    bounds = np.linspace(0, items, shards + 1).round().astype(int)
    return int(bounds[shard]), int(bounds[shard + 1])


def score_shard(examples: pl.DataFrame, summary: dict[str, Any], spec: dict[str, Any], shard: int, shards: int,
                model_key: str) -> tuple[pl.DataFrame, dict[str, Any]]:
    """One shard's scores: a row per (checkpoint, training item) with the dot and cosine terms against every
    test item (arrays in test-index order), the item's gradient norm and loss; and what the gradients were."""
    settings = spec["attribution"]
    train, test = split_roles(examples)
    start, stop = shard_range(train.height, shard, shards)
    train = train.slice(start, stop - start)
    dtype = DTYPES[settings["precision"]]
    projector = Projector(settings["projection"], settings["seed"]) if settings["projection"] else None
    checkpoints = kept_checkpoints(summary, settings["checkpoint_every"])
    described: dict[str, Any] = {}

    def load(checkpoint: Checkpoint):
        model, tokenizer = load_checkpoint(model_key, spec["model"], spec["base"], checkpoint.path, dtype)
        described.update(describe_layers(gradient_layers(model, settings["layers"]), projector))
        return model, tokenizer

    options = {"max_length": spec["max_length"], "layer_patterns": settings["layers"], "projector": projector,
               "batch_size": settings["batch_size"],
               "vector_dtype": torch.float16 if projector is not None else None}
    value_type = pl.Float64 if settings["precision"] == "float64" else pl.Float32
    frames = []
    for scores in tracin_scores(checkpoints, load, train["messages"].to_list(), test["messages"].to_list(),
                                **options):
        frames.append(pl.DataFrame({
            "step": np.full(train.height, scores.checkpoint.step),
            "learning_rate": np.full(train.height, scores.checkpoint.learning_rate),
            "train_index": train["index"].to_numpy(),
            "train_norm": scores.train_norms, "train_loss": scores.train_losses,
            "dot": scores.dot, "cosine": scores.cosine,
        }, schema={"step": pl.Int64, "learning_rate": pl.Float64, "train_index": pl.Int64,
                   "train_norm": pl.Float64, "train_loss": pl.Float64,
                   "dot": pl.Array(value_type, test.height), "cosine": pl.Array(value_type, test.height)}))
        described.setdefault("test_norms", {})[str(scores.checkpoint.step)] = scores.test_norms.tolist()
    return pl.concat(frames), {**described, "range": [start, stop], "checkpoints": [c.step for c in checkpoints]}


# ---- tables ------------------------------------------------------------------------------------------------


def score_matrices(shards: list[pl.DataFrame], train_items: int) -> dict[str, dict[int, tuple[float, np.ndarray]]]:
    """Per normalisation, per checkpoint step: (learning rate, the (train, test) matrix) from the shards."""
    frame = pl.concat(shards).sort("step", "train_index")
    matrices: dict[str, dict[int, tuple[float, np.ndarray]]] = {name: {} for name in NORMALISATIONS}
    for (step,), rows in frame.group_by("step", maintain_order=True):
        indices = rows["train_index"].to_numpy()
        if sorted(indices.tolist()) != list(range(train_items)):
            raise ValueError(f"checkpoint {step}: the shards cover {len(set(indices.tolist()))} of {train_items} "
                             f"training items (a shard of another run or config?)")
        lr = float(rows["learning_rate"][0])
        for name in NORMALISATIONS:
            matrix = np.empty((train_items, rows[name].dtype.size))
            matrix[indices] = rows[name].to_numpy()
            matrices[name][int(step)] = (lr, matrix)
    return matrices


def tracin_total(per_step: dict[int, tuple[float, np.ndarray]]) -> np.ndarray:
    """TracInCP: sum over checkpoints of lr x the checkpoint's score."""
    return sum(lr * matrix for lr, matrix in per_step.values())


def attribution_tables(examples: pl.DataFrame, shards: list[pl.DataFrame], spec: dict[str, Any]
                       ) -> dict[str, pl.DataFrame]:
    """Every table of the run: shares (TracInCP and per checkpoint, both normalisations, both directions),
    the primary share matrix, reinforce vs complement, zero-shot languages, imbalance."""
    train, test = split_roles(examples)
    matrices = score_matrices(shards, train.height)
    samples, confidence, seed = spec["bootstrap_samples"], spec["confidence"], spec["seed"]
    k = spec["top_k"]
    languages = [lang for lang in spec["eval_languages"] if lang in set(train["lang"].to_list())]
    share_parts, reinforce_parts = [], []
    for name in NORMALISATIONS:
        views = [(None, tracin_total(matrices[name]))] + [(step, matrix) for step, (_, matrix)
                                                           in sorted(matrices[name].items())]
        for step, scores in views:
            for direction in influence.DIRECTIONS:
                share_parts.append(influence.share_table(train, test, scores, k, direction, samples, seed,
                                                         confidence, languages)
                                   .with_columns(normalisation=pl.lit(name), step=pl.lit(step, pl.Int64)))
        reinforce_parts.append(influence.reinforce_table(train, test, views[0][1], k, samples, seed, confidence)
                               .with_columns(normalisation=pl.lit(name)))
    groups = {lang: group for group in ("english", "seen", "unseen")
              for lang in ([spec["languages"]["english"]] if group == "english" else spec["languages"][group])}
    shares = (pl.concat(share_parts)
              .with_columns(test_group=pl.col("test_lang").replace_strict(groups, default="other"),
                            trained=pl.col("test_lang").is_in(languages))
              .select("normalisation", "step", "direction", "test_lang", "test_group", "trained",
                      *[c for c in influence.SHARE_SCHEMA if c not in ("direction", "test_lang")]))
    order = {lang: i for i, lang in enumerate(spec["eval_languages"])}
    shares = shares.sort(pl.col("normalisation"), pl.col("step"), pl.col("direction"),
                         pl.col("test_lang").replace_strict(order, default=99),
                         pl.col("train_lang").replace_strict(order, default=99), nulls_last=False)
    headline = shares.filter(pl.col("normalisation") == spec["primary"], pl.col("step").is_null())
    matrix = (headline.filter(direction="proponents")
              .with_columns(cell=pl.format("{} [{}, {}]", pl.col("ratio").round(2), pl.col("ratio_low").round(2),
                                           pl.col("ratio_high").round(2)))
              .pivot(on="train_lang", index="test_lang", values="cell", maintain_order=True))
    reinforce = pl.concat(reinforce_parts).select("normalisation", *influence.REINFORCE_SCHEMA)
    sensitivity = k_sensitivity(train, test, {name: tracin_total(matrices[name]) for name in NORMALISATIONS}, k,
                                spec, languages)
    return {"shares": shares, "matrix": matrix, "reinforce": reinforce, "sensitivity": sensitivity,
            "zero_shot": influence.zero_shot_table(headline, languages).drop("step"),
            "imbalance": influence.imbalance_table(headline.drop("step"))}


def k_sensitivity(train: pl.DataFrame, test: pl.DataFrame, totals: dict[str, np.ndarray], k: int,
                  spec: dict[str, Any], languages: list[str]) -> pl.DataFrame:
    """How the headline numbers move with k and the normalisation: per test language, the own-language and
    English shares of the top-k proponents and the own-language ratio to chance, for k/4 ... 4k (within the
    pool), cosine and dot."""
    english = spec["languages"]["english"]
    ks = sorted({max(1, min(value, train.height)) for value in (k // 4, k // 2, k, 2 * k, 4 * k)})
    rows = []
    for name, scores in totals.items():
        for value in ks:
            table = influence.share_table(train, test, scores, value, "proponents", spec["bootstrap_samples"],
                                          spec["seed"], spec["confidence"], languages)
            own = table.filter(pl.col("test_lang") == pl.col("train_lang")).select(
                "test_lang", pl.col("share").alias("own_share"), pl.col("ratio").alias("own_ratio"),
                pl.col("ratio_low").alias("own_ratio_low"), pl.col("ratio_high").alias("own_ratio_high"))
            from_english = table.filter(train_lang=english).select("test_lang",
                                                                   pl.col("share").alias("english_share"))
            rows.append(from_english.join(own, on="test_lang", how="left", maintain_order="left")
                        .with_columns(normalisation=pl.lit(name), k=pl.lit(value)))
    return pl.concat(rows).select("normalisation", "k", "test_lang", "own_share", "own_ratio", "own_ratio_low",
                                  "own_ratio_high", "english_share")


# ---- figures -----------------------------------------------------------------------------------------------


def share_heatmap(shares: pl.DataFrame, spec: dict[str, Any], run: str) -> tuple[plt.Figure, pl.DataFrame]:
    """Test language x training language: the share of proponents (left) and opponents (right) divided by the
    chance share (TracInCP, primary normalisation), each cell's share and interval written in it."""
    rows = shares.filter(pl.col("normalisation") == spec["primary"], pl.col("step").is_null())
    figure, axes = plt.subplots(1, 2, figsize=(11, 4.8), constrained_layout=True)
    test_langs = list(dict.fromkeys(rows["test_lang"].to_list()))
    train_langs = list(dict.fromkeys(rows["train_lang"].to_list()))
    image = None
    for ax, direction in zip(axes, influence.DIRECTIONS, strict=True):
        part = rows.filter(direction=direction)
        grid = np.full((len(test_langs), len(train_langs)), np.nan)
        for row in part.iter_rows(named=True):
            i, j = test_langs.index(row["test_lang"]), train_langs.index(row["train_lang"])
            grid[i, j] = row["ratio"]
            dark = not (1 / 3 < row["ratio"] < 3) if np.isfinite(row["ratio"]) else False
            ax.text(j, i, f"{row['share']:.2f}\n[{row['ci_low']:.2f},{row['ci_high']:.2f}]", ha="center",
                    va="center", fontsize=7, color="white" if dark else "black")
        image = ax.imshow(np.log2(np.clip(grid, 1 / 8, 8)), cmap="RdBu_r", vmin=-3, vmax=3, aspect="auto")
        ax.set_xticks(range(len(train_langs)), train_langs)
        ax.set_yticks(range(len(test_langs)), [f"{lang}{'' if lang in train_langs else ' (unseen)'}"
                                               for lang in test_langs])
        ax.set_xlabel("training language")
        ax.set_ylabel("test language")
        ax.set_title(f"top-{part['k'][0]} {direction}")
    bar = figure.colorbar(image, ax=axes, shrink=0.8)
    bar.set_ticks([-3, -2, -1, 0, 1, 2, 3], labels=["1/8", "1/4", "1/2", "1 (chance)", "2", "4", "8"])
    bar.set_label("share / share of the training pool")
    figure.suptitle(f"{run}: language shares of TracInCP ({spec['primary']}) proponents and opponents; "
                    f"cell: share [{round(spec['confidence'] * 100)}% CI]", fontsize=10)
    return figure, rows


def share_over_checkpoints(shares: pl.DataFrame, spec: dict[str, Any], run: str
                           ) -> tuple[plt.Figure, pl.DataFrame]:
    """Per checkpoint: the share of each test language's top-k proponents from its own language, from English,
    and from the other languages (each checkpoint's own TracIn term, primary normalisation)."""
    english = spec["languages"]["english"]
    rows = shares.filter(pl.col("normalisation") == spec["primary"], pl.col("step").is_not_null(),
                         direction="proponents")
    kind = (pl.when(pl.col("train_lang") == pl.col("test_lang")).then(pl.lit("own language"))
            .when(pl.col("train_lang") == english).then(pl.lit("English"))
            .otherwise(pl.lit("other languages")))
    # each (test language, step, kind): sum of shares; intervals of a sum of cells are not the sum of intervals,
    # so the bands are shown only for single cells (own language, English)
    series = (rows.with_columns(kind=kind)
              .group_by("test_lang", "test_group", "step", "kind", maintain_order=True)
              .agg(pl.col("share").sum(), pl.col("ci_low").sum(), pl.col("ci_high").sum(), pl.len().alias("cells"))
              .with_columns(ci_low=pl.when(pl.col("cells") == 1).then("ci_low"),
                            ci_high=pl.when(pl.col("cells") == 1).then("ci_high")))
    kinds = ["own language", "English", "other languages"]
    figure, axes = plt.subplots(1, 3, figsize=(12, 3.8), sharey=True, constrained_layout=True)
    cmap = plt.get_cmap("tab10")
    langs = list(dict.fromkeys(series["test_lang"].to_list()))
    for ax, name in zip(axes, kinds, strict=True):
        for i, lang in enumerate(langs):
            part = series.filter(test_lang=lang, kind=name).sort("step")
            if not part.height:
                continue
            style = {"seen": "-", "unseen": "--", "english": ":"}.get(part["test_group"][0], "-")
            ax.plot(part["step"], part["share"], style, marker="o", color=cmap(i % 10), label=lang)
            if part["ci_low"].null_count() == 0:
                ax.fill_between(part["step"], part["ci_low"], part["ci_high"], color=cmap(i % 10), alpha=0.12)
        ax.set_title(f"share from: {name}")
        ax.set_xlabel("checkpoint step")
    axes[0].set_ylabel(f"share of top-{rows['k'][0]} proponents")
    axes[-1].legend(title="test language", fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1.0))
    figure.suptitle(f"{run}: where each test language's proponents come from, checkpoint by checkpoint "
                    f"({spec['primary']})", fontsize=10)
    return figure, series.drop("cells")


def reinforce_bars(reinforce: pl.DataFrame, spec: dict[str, Any], run: str) -> tuple[plt.Figure, pl.DataFrame]:
    """Per test language with own-language proponents: the share of cross-lingual proponents that translate one
    of them (reinforce) against chance, with intervals; the rest complements."""
    rows = reinforce.filter(pl.col("normalisation") == spec["primary"]).drop_nulls("reinforce").filter(
        pl.col("reinforce").is_not_nan())
    figure, ax = plt.subplots(figsize=(7, 3.8), constrained_layout=True)
    x = np.arange(rows.height)
    for offset, (column, low, high, label) in zip((-0.2, 0.2), (("reinforce", "ci_low", "ci_high", "reinforce"),
                                                                ("chance", "chance_low", "chance_high", "chance")),
                                                  strict=True):
        values = rows[column].to_numpy()
        errors = np.abs(np.stack([values - rows[low].to_numpy(), rows[high].to_numpy() - values]))
        ax.bar(x + offset, values, width=0.4, yerr=errors, capsize=3, label=label)
    ax.set_xticks(x, [f"{lang}\n({count} items)" for lang, count in zip(rows["test_lang"], rows["test_items"],
                                                                        strict=True)])
    ax.set_xlabel("test language (test items with own-language and cross-lingual proponents)")
    ax.set_ylabel("cross-lingual proponents that translate\nan own-language proponent")
    ax.legend()
    note = "" if rows.height else " (no test language has both own-language and cross-lingual proponents)"
    ax.set_title(f"{run}: reinforce vs complement (top-{spec['top_k']}, {spec['primary']}){note}", fontsize=10)
    return figure, rows


FIGURES = {"shares": share_heatmap, "checkpoints": share_over_checkpoints, "reinforce": reinforce_bars}


# ---- CLI ---------------------------------------------------------------------------------------------------


def examples_main(args) -> int:
    started = time.time()
    spec = json.loads(args.spec)
    if len(args.test) != len(args.prompts):
        raise ValueError(f"{len(args.test)} --test tables but {len(args.prompts)} --prompts tables (one per task)")
    examples = select_examples(read_table(args.train), [read_table(path) for path in args.test],
                               [read_table(path) for path in args.prompts], spec["test_items_per_language"],
                               spec["train_items"], spec["seed"])
    write_parquet(examples, args.out)
    write_provenance(args.out, stage="attribute_examples", module=__name__, params=spec,
                     inputs=[args.train, *args.test, *args.prompts], outputs=[args.out], started=started)
    counts = examples.group_by("role").len().sort("role").iter_rows()
    print(", ".join(f"{count} {role}" for role, count in counts), "->", args.out)
    return 0


def scores_main(args) -> int:
    started = time.time()
    torch.set_num_threads(args.threads)
    spec = json.loads(args.spec)
    summary = json.loads(Path(args.summary).read_text(encoding="utf-8"))
    frame, described = score_shard(read_table(args.examples), summary, spec, args.shard, args.shards, args.model)
    write_parquet(frame, args.out)
    checkpoints = [row["path"] for row in summary["checkpoints"] if row["step"] in described["checkpoints"]]
    weights = [str(path) for checkpoint in checkpoints for path in sorted(Path(checkpoint).glob("*.safetensors"))]
    write_provenance(args.out, stage="attribute_scores", module=__name__,
                     params={**spec, "shard": args.shard, "shards": args.shards,
                             **{key: value for key, value in described.items() if key != "test_norms"}},
                     inputs=[args.examples, args.summary, *weights], outputs=[args.out], started=started)
    print(f"shard {args.shard}/{args.shards} (training items {described['range'][0]}..{described['range'][1] - 1}) "
          f"x {len(described['checkpoints'])} checkpoints, {len(described['layers'])} layers, gradient size "
          f"{described['gradient_size']} (vectors {described['vector_size']}) -> {args.out}")
    return 0


def tables_main(args) -> int:
    started = time.time()
    spec = json.loads(args.spec)
    tables = attribution_tables(read_table(args.examples), [read_table(path) for path in args.scores], spec)
    outputs = {"shares": args.shares, "matrix": args.matrix, "reinforce": args.reinforce,
               "zero_shot": args.zero_shot, "imbalance": args.imbalance, "sensitivity": args.sensitivity}
    write_parquet(tables["shares"], args.shares)
    written = [Path(args.shares)]
    for name, path in outputs.items():
        target = Path(path).with_suffix(".csv") if name == "shares" else Path(path)
        write_text(tables[name].write_csv(float_precision=4), target)
        written.append(target)
    write_provenance(args.shares, stage="attribute_tables", module=__name__, params=spec,
                     inputs=[args.examples, *args.scores], outputs=written, started=started)
    for path in written[1:]:
        write_provenance(path, stage="attribute_tables", module=__name__, params=spec,
                         inputs=[args.examples, *args.scores], outputs=[path], started=started)
    print(f"{tables['shares'].height} share rows, {tables['reinforce'].height} reinforce rows -> "
          f"{Path(args.shares).parent}")
    return 0


def figure_main(args) -> int:
    started = time.time()
    spec = json.loads(args.spec)
    source = args.reinforce if args.name == "reinforce" else args.shares
    table = read_csv_table(source) if args.name == "reinforce" else read_table(source)
    figure, series = FIGURES[args.name](table, spec, args.run)
    pdf = Path(args.out)
    outputs = [pdf, pdf.with_suffix(".png"), pdf.with_suffix(".csv"), Path(args.notes)]
    atomic_write(outputs[0], lambda tmp: figure.savefig(tmp, format="pdf"))
    atomic_write(outputs[1], lambda tmp: figure.savefig(tmp, format="png"))
    write_text(series.write_csv(float_precision=4), outputs[2])
    write_json({"missing": [], "undefined": [] if series.height else [f"{args.name}: nothing to plot"]}, args.notes)
    write_provenance(pdf, stage="attribute_figure", module=__name__, params={"figure": args.name, **spec},
                     inputs=[source], outputs=outputs, started=started)
    print(f"{args.name}: {series.height} rows -> {pdf}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="xlt attribute", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    examples = commands.add_parser("examples", help="the run's attributed training and test items")
    examples.add_argument("--train", required=True, help="the mixture's train.parquet")
    examples.add_argument("--test", nargs="+", required=True, help="each trained task's test split")
    examples.add_argument("--prompts", nargs="+", required=True, help="each task's evaluation prompts, same order")
    examples.add_argument("--spec", required=True, help='JSON: {"test_items_per_language", "train_items", "seed"}')
    examples.add_argument("--out", required=True)
    examples.set_defaults(handler=examples_main)
    scores = commands.add_parser("scores", help="TracIn terms of one shard of training items, every checkpoint")
    scores.add_argument("--examples", required=True)
    scores.add_argument("--summary", required=True, help="the run's training.json (its kept checkpoints)")
    scores.add_argument("--model", required=True, help="the key under models:")
    scores.add_argument("--spec", required=True, help="JSON: {model, base, max_length, attribution}")
    scores.add_argument("--shard", type=int, required=True)
    scores.add_argument("--shards", type=int, required=True)
    scores.add_argument("--threads", type=int, default=1)
    scores.add_argument("--out", required=True)
    scores.set_defaults(handler=scores_main)
    tables = commands.add_parser("tables", help="language shares, reinforce vs complement, zero-shot, imbalance")
    tables.add_argument("--examples", required=True)
    tables.add_argument("--scores", nargs="+", required=True, help="every shard of the run")
    tables.add_argument("--spec", required=True, help="JSON: top_k, primary, languages, bootstrap settings")
    for name in ("shares", "matrix", "reinforce", "zero-shot", "imbalance", "sensitivity"):
        tables.add_argument(f"--{name}", required=True)
    tables.set_defaults(handler=tables_main)
    figure = commands.add_parser("figure", help="one attribution figure of one run")
    figure.add_argument("name", choices=list(FIGURES))
    figure.add_argument("--shares", required=True, help="shares.parquet")
    figure.add_argument("--reinforce", required=True, help="reinforce.csv")
    figure.add_argument("--spec", required=True, help="JSON: primary, top_k, languages, confidence")
    figure.add_argument("--run", required=True, help="the run's name in titles: {model} {run}")
    figure.add_argument("--out", required=True)
    figure.add_argument("--notes", required=True)
    figure.set_defaults(handler=figure_main)
    args = parser.parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
