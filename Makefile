# The README's commands. Each one does its own set-up (scripts/setup.sh) first.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
export DAGSTER_HOME := $(CURDIR)
export IMPRESSOX_DATA_DIR ?= $(CURDIR)/.impressox
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: setup demo test dev bench lint

setup:
	@scripts/setup.sh

demo: setup
	$(BIN)/impressox demo

# Parallel workers, one per core (at most 4: each may load the 740 MB embedding model); a test file's tests
# stay on one worker, in order, sharing its module and session fixtures (the RAG knowledge base is built once).
test: setup
	$(BIN)/python -m pytest -n auto --maxprocesses 4 --dist loadfile

dev: setup
	$(BIN)/impressox dev

bench: setup
	$(BIN)/pip install -q -e '.[bench]' 2> >(grep -v "is ignored" >&2)
	$(BIN)/python bench/run_all.py

lint: setup
	$(BIN)/ruff check impressox_pipelines tests bench
