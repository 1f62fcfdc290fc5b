"""``snakemake --lint``, with one lint accepted on purpose: "Mixed rules and functions in same snakefile".

Snakemake's lint wants every input function in one common module; xlt gives each stage one home instead (its
rule file holds its rules and the functions only they use, so that changing a stage means reading one file, and
workflow/rules/common.smk keeps what every stage shares). Every other lint fails CI. Run from the repository root:

    python scripts/snakemake_lint.py
"""

from __future__ import annotations

import re
import subprocess
import sys

ACCEPTED = {"Mixed rules and functions in same snakefile."}


def main() -> int:
    result = subprocess.run([sys.executable, "-m", "snakemake", "--lint"], capture_output=True, text=True)
    output = result.stdout + result.stderr
    titles = re.findall(r"^\s+\* (.+?):?$", output, flags=re.M)
    if result.returncode not in (0, 1) or (result.returncode == 1 and not titles):
        print(output, file=sys.stderr)
        print("snakemake --lint did not run", file=sys.stderr)
        return 1
    rejected = [title for title in titles if title not in ACCEPTED]
    if rejected:
        print(output, file=sys.stderr)
        print(f"snakemake --lint: {len(rejected)} lints ({sorted(set(rejected))})", file=sys.stderr)
        return 1
    print(f"snakemake --lint: clean ({len(titles)} rule files keep their stage's functions beside their rules)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
