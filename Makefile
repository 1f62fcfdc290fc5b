# Two commands on a fresh machine: `make study` runs the embedded study, `make test` runs the tests.
# Both create the virtualenv (.venv, pinned CPU stack) first if it is missing or out of date.
VENV ?= .venv
CORES ?= 2
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
export HF_HOME ?= $(CURDIR)/.cache/huggingface

.PHONY: study test dry-run lint bench venv

venv:
	@VENV=$(VENV) bash scripts/install.sh

study: venv
	snakemake --cores $(CORES) --rerun-incomplete

dry-run: venv
	snakemake -n --cores $(CORES)

test: venv
	OMP_NUM_THREADS=1 python -m pytest tests

lint: venv
	ruff check workflow tests bench scripts
	snakefmt --check Snakefile workflow/rules
	snakemake --lint

bench: venv
	python bench/rouge_reference.py && python bench/math_reference.py && python bench/mixtures.py && python bench/generate.py && python bench/train.py && python bench/dag.py && python bench/attribution.py
