"""Validate a study config against the schema; print it with defaults filled in."""

from __future__ import annotations

import argparse
import sys

import yaml

from xlt.config import load_config


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="xlt validate", description=__doc__.splitlines()[0])
    parser.add_argument("config", nargs="?", default="config.yaml")
    parser.add_argument("--quiet", action="store_true", help="only report problems")
    args = parser.parse_args(argv)
    config = load_config(args.config)  # a ConfigError is reported by xlt.cli
    if not args.quiet:
        print(yaml.safe_dump(config, sort_keys=False, allow_unicode=True), end="")
    print(f"{args.config}: valid", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
