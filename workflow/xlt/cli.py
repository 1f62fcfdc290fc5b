"""``xlt <stage> ...``: one command for every stage's CLI (each is also ``python -m xlt.<stage>``).

    python -m xlt.cli --help
"""

from __future__ import annotations

import importlib
import sys

from xlt.errors import XltError
from xlt.secrets import redact_text

COMMANDS = {
    "grid": ("xlt.validate:grid_main", "show the runs a study config expands to"),
    "validate": ("xlt.validate", "validate a study config and print it with defaults filled in"),
    "plan": ("xlt.plan", "what a study costs before it runs: GPU-hours, memory, disk, per stage"),
    "data": ("xlt.data", "write a task's normalised datasets"),
    "translate": ("xlt.translate", "machine-translate a split into a language the dataset lacks"),
    "mixtures": ("xlt.mixtures", "build training mixtures"),
    "base-model": ("xlt.base_model", "train the tokenizer and build the embedded base models"),
    "train": ("xlt.train", "fine-tune a base model on a mixture"),
    "prompts": ("xlt.prompts", "build one task's evaluation prompts"),
    "generate": ("xlt.generate", "generate one run's answers to the evaluation prompts"),
    "score": ("xlt.score", "score one run's generations of one task"),
    "judge": ("xlt.judge", "rate instruction-following replies with an LLM judge"),
    "tables": ("xlt.tables", "tidy results with bootstrap intervals; Table 2; per-language tables"),
    "curves": ("xlt.curves", "data-efficiency curves: the n that reaches the plateau, with its interval"),
    "figure": ("xlt.figures", "draw one figure of the study"),
    "attribute": ("xlt.attribute", "TracIn attribution of a run: examples, score shards, tables, figures"),
    "report": ("xlt.report", "the study's self-contained HTML report"),
    "audit": ("xlt.audit", "the lineage of an artifact; what is stale or modified"),
}


# Imports a command never needs that a library it uses makes anyway: ``evaluate`` imports its Evaluator, and
# with it transformers.pipelines (torch included: about 5 s per score job), wherever transformers is installed;
# the score stage loads metric modules only. A module set to None in sys.modules raises ImportError on import,
# which evaluate takes as "no transformers" for its evaluators alone.
SKIPPED_IMPORTS = {"score": ("transformers.pipelines",)}

# Libraries whose errors describe bad data or a bad model (not a bug of ours): shown as one line.
LIBRARY_ERRORS = {"polars", "pyarrow", "datasets", "transformers", "huggingface_hub", "safetensors", "jsonschema",
                  "yaml", "openai"}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help") or argv[0] not in COMMANDS:
        print("usage: xlt <command> [options]\n\ncommands:")
        for name, (_, help_text) in COMMANDS.items():
            print(f"  {name:<10} {help_text}")
        return 0 if not argv or argv[0] in ("-h", "--help") else 2
    module_name, _, function = COMMANDS[argv[0]][0].partition(":")
    skipped = [name for name in SKIPPED_IMPORTS.get(argv[0], ()) if name not in sys.modules]
    sys.modules.update(dict.fromkeys(skipped))
    try:
        entry = getattr(importlib.import_module(module_name), function or "main")
        return entry(argv[1:])
    except (XltError, ValueError, FileNotFoundError) as error:
        # Our errors say what is wrong and where; a traceback would bury that.
        print(redact_text(f"xlt {argv[0]}: error: {error}"), file=sys.stderr)
        return 1
    except Exception as error:  # a library's error (polars, transformers): its type and first line, once
        if type(error).__module__.split(".")[0] not in LIBRARY_ERRORS:
            raise
        first = str(error).strip().splitlines()[0] if str(error).strip() else ""
        print(redact_text(f"xlt {argv[0]}: error: {type(error).__name__}: {first} (`python -m "
                          f"{module_name} ...` shows the traceback)"), file=sys.stderr)
        return 1
    finally:
        for name in skipped:  # called in-process (tests): later imports of the module work again
            if sys.modules.get(name, ...) is None:
                del sys.modules[name]


if __name__ == "__main__":
    sys.exit(main())
