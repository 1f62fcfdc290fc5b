"""The config CLIs: ``xlt validate`` checks a study config and prints it with defaults filled in; ``xlt grid``
shows the training runs it expands to (models x mixtures x seeds, with their compositions).

    python -m xlt.cli validate config.yaml
    python -m xlt.cli grid --config studies/paper.yaml --format csv
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

import polars as pl
import yaml

from xlt.config import load_config
from xlt.grid import eval_languages, language_count, mixture_spec, runs


def main(argv: list[str] | None = None) -> int:
    """``xlt validate``."""
    parser = argparse.ArgumentParser(prog="xlt validate", description=__doc__.splitlines()[0])
    parser.add_argument("config", nargs="?", default="config.yaml")
    parser.add_argument("--quiet", action="store_true", help="only report problems")
    args = parser.parse_args(argv)
    config = load_config(args.config)  # a ConfigError is reported by xlt.cli
    if not args.quiet:
        print(yaml.safe_dump(config, sort_keys=False, allow_unicode=True), end="")
    print(f"{args.config}: valid", file=sys.stderr)
    return 0


def run_table(config: dict[str, Any]) -> pl.DataFrame:
    """One row per model x mixture x seed with the mixture's composition."""
    rows = []
    for run in runs(config):
        spec = mixture_spec(config, run["family"], run["n"])
        per_task = spec["english"] + sum(language_count(spec, run["n"], lang) for lang in spec["languages"])
        rows.append({
            "model": run["model"], "mixture": run["mixture"], "seed": run["seed"],
            "tasks": ",".join(spec["tasks"]), "english_per_task": spec["english"],
            "languages": ",".join(spec["languages"]), "n_per_language": run["n"], "mode": spec["mode"],
            "train_examples": per_task * len(spec["tasks"]),
        })
    return pl.DataFrame(rows)


def grid_main(argv: list[str] | None = None) -> int:
    """``xlt grid``: the runs a study config expands to."""
    parser = argparse.ArgumentParser(prog="xlt grid", description="show the runs a study config expands to")
    parser.add_argument("--config", default="config.yaml")
    parser.add_argument("--format", choices=["table", "csv"], default="table")
    args = parser.parse_args(argv)
    config = load_config(args.config)  # a ConfigError is reported by xlt.cli
    table = run_table(config)
    if args.format == "csv":
        sys.stdout.write(table.write_csv())
        return 0
    with pl.Config(tbl_rows=-1, tbl_cols=-1, tbl_width_chars=200, tbl_hide_dataframe_shape=True,
                   tbl_hide_column_data_types=True):
        print(table)
    tasks = ", ".join(f"{name} ({spec['kind']}: {', '.join(spec['metrics'])})"
                      for name, spec in config["tasks"].items())
    counts = table.group_by("model", maintain_order=True).len().rows()
    per_model = ", ".join(f"{model} {count}" for model, count in counts)
    print(f"{len(table)} training runs over {len(config['models'])} models ({per_model}), "
          f"{table['mixture'].n_unique()} mixtures, {len(config['seeds'])} seeds")
    print(f"evaluation: {len(config['tasks'])} tasks x {len(eval_languages(config))} languages "
          f"({', '.join(eval_languages(config))}); tasks: {tasks}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
