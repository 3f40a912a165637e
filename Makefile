# tennis-lab: one target per user task. `make` alone lists them.
.DEFAULT_GOAL := help
SHELL := /bin/bash

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DATA ?= data/demo
GRID ?=
N ?= 30
PORT ?= 5000

# `make grid GRID=small RANDOM=1 N=30 MAX_RUNS=20 RESUME=1 EPOCHS=20 DATA_DIR=data/club WORKERS=2`
# (BACKEND=tensorflow trains on TensorFlow instead of JAX)
GRID_FLAGS := $(if $(GRID),--grid $(GRID),)
ifdef RANDOM
GRID_FLAGS += --random --n-samples $(N)
endif
ifdef MAX_RUNS
GRID_FLAGS += --max-runs $(MAX_RUNS)
endif
ifdef RESUME
GRID_FLAGS += --resume $(if $(filter 1 yes true,$(RESUME)),,$(RESUME))
endif
ifdef EPOCHS
GRID_FLAGS += --epochs $(EPOCHS)
endif
ifdef DATA_DIR
GRID_FLAGS += --data-dir $(DATA_DIR)
endif
ifdef WORKERS
GRID_FLAGS += --workers $(WORKERS)
endif
ifdef SCHEDULER
GRID_FLAGS += --scheduler $(SCHEDULER)
endif
ifdef TRACKING_URI
GRID_FLAGS += --tracking-uri $(TRACKING_URI)
endif
ifdef CACHE_DIR
GRID_FLAGS += --cache-dir $(CACHE_DIR)
endif
ifdef QUIET
GRID_FLAGS += --quiet
endif
ifdef NO_OVERLAP
GRID_FLAGS += --no-overlap
endif
ifdef BACKEND
GRID_FLAGS += --backend $(BACKEND)
endif
# Adaptive searches: `make grid GRID=small STRATEGY=halving MAX_EPOCHS=27 FINALISTS=3 REPEATS=5`
ifdef STRATEGY
GRID_FLAGS += --strategy $(STRATEGY)
endif
ifdef N_TRIALS
GRID_FLAGS += --n-trials $(N_TRIALS)
endif
ifdef MIN_EPOCHS
GRID_FLAGS += --min-epochs $(MIN_EPOCHS)
endif
ifdef MAX_EPOCHS
GRID_FLAGS += --max-epochs $(MAX_EPOCHS)
endif
ifdef ETA
GRID_FLAGS += --eta $(ETA)
endif
ifdef FINALISTS
GRID_FLAGS += --finalists $(FINALISTS)
endif
ifdef REPEATS
GRID_FLAGS += --repeats $(REPEATS)
endif
ifdef WEAK_GROUP
GRID_FLAGS += --weak-group $(WEAK_GROUP)
endif
ifdef REPEAT_OVER
GRID_FLAGS += --repeat-over $(REPEAT_OVER)
endif

.PHONY: help setup test test-fast lint bench grid grids show-grid report predict evaluate promote demo data-summary train mlflow-ui lab clean

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  make %-14s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "tennis-lab needs Python >= 3.11; set PYTHON=python3.11 (or newer)")'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

setup: $(STAMP) ## create .venv and install tennis-lab with its dependencies (done by every target)

test: $(STAMP) ## run the test suite
	$(PY) -m pytest

test-fast: $(STAMP) ## the unit tests only, no training or kernels (under 2 minutes)
	$(PY) -m pytest -m "not slow" -q

lint: $(STAMP) ## check style with ruff
	$(VENV)/bin/ruff check tennis_lab tests bench

bench: $(STAMP) ## run the benchmarks under bench/ (prints ratios measured in one run)
	@for b in bench/bench_*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

grid: $(STAMP) ## run a search: GRID=minimal (default)|small|...|path, RANDOM=1 N=30, STRATEGY=halving|hyperband|tpe, FINALISTS=3 REPEATS=5 [REPEAT_OVER=seeds|splits|both], MAX_RUNS=20, RESUME=1, WORKERS=2
	$(VENV)/bin/tennis-lab grid $(GRID_FLAGS)

grids: $(STAMP) ## list the predefined grids and their sizes
	$(VENV)/bin/tennis-lab grids

show-grid: $(STAMP) ## show what GRID=... would run, without running it
	$(VENV)/bin/tennis-lab grid $(GRID_FLAGS) --show-grid

report: $(STAMP) ## HTML report of a search: SEARCH=<id or CSV> (default the latest) -> reports/<search>.html
	$(VENV)/bin/tennis-lab report $(if $(SEARCH),--search $(SEARCH),) $(if $(TRACKING_URI),--tracking-uri $(TRACKING_URI),)

# `make predict RECORDING=rec.npz MODEL=<run id> OUTPUT=timeline.csv PLOT=timeline.png LEFT_HANDED=1`
MODEL_FLAGS := $(if $(MODEL),--model $(MODEL),) $(if $(TRACKING_URI),--tracking-uri $(TRACKING_URI),)

predict: $(STAMP) ## detect strokes: RECORDING=a.npz [MODEL=run id or models:/...] [OUTPUT=] [PLOT=] [VIDEOS=videos.csv]
	@test -n "$(RECORDING)" || { echo "usage: make predict RECORDING=path/to/recording.npz [MODEL=<run id>] [OUTPUT=timeline.csv] [PLOT=timeline.png] [LEFT_HANDED=1] [VIDEOS=videos.csv]"; exit 2; }
	$(VENV)/bin/tennis-lab predict $(RECORDING) $(MODEL_FLAGS) $(if $(OUTPUT),--output $(OUTPUT),) $(if $(PLOT),--plot $(PLOT),) $(if $(LEFT_HANDED),--left-handed,) $(if $(VIDEOS),--videos $(VIDEOS),)

evaluate: $(STAMP) ## event-level scores of MODEL (default the champion) on DATA (default data/demo); SPLIT=test: only its run's test videos
	$(VENV)/bin/tennis-lab evaluate $(DATA) $(MODEL_FLAGS) $(if $(SPLIT),--split $(SPLIT),)

promote: $(STAMP) ## make RUN=<run id> the registry's champion
	@test -n "$(RUN)" || { echo "usage: make promote RUN=<run id>"; exit 2; }
	$(VENV)/bin/tennis-lab promote $(RUN) $(if $(TRACKING_URI),--tracking-uri $(TRACKING_URI),)

demo: $(STAMP) ## write the demo dataset to DATA (default data/demo) and summarise it; DIFFICULTY=hard: the harder one
	$(VENV)/bin/tennis-lab data demo $(DATA) $(if $(DIFFICULTY),--difficulty $(DIFFICULTY),)

data-summary: $(STAMP) ## summarise the dataset in DATA (default data/demo)
	$(VENV)/bin/tennis-lab data summary $(DATA)

train: $(STAMP) ## train one configuration with notebooks/train.ipynb defaults (kept under reports/runs/manual/)
	@mkdir -p reports/runs/manual
	$(VENV)/bin/papermill notebooks/train.ipynb reports/runs/manual/train-$$(date +%Y%m%d_%H%M%S).ipynb

mlflow-ui: $(STAMP) ## open the MLflow UI on this project's runs: http://127.0.0.1:$(PORT) (PORT=5001 if 5000 is taken)
	@if [[ "$(TRACKING_URI)" == http* ]]; then echo "$(TRACKING_URI) is an MLflow server: open it in a browser."; exit 0; fi; \
	echo "Open http://127.0.0.1:$(PORT)/#/experiments?workflowType=machine_learning (runs as model training, not the GenAI view)"; \
	$(VENV)/bin/mlflow ui --backend-store-uri $(if $(TRACKING_URI),$(TRACKING_URI),sqlite:///$(CURDIR)/mlflow.db) --host 127.0.0.1 --port $(PORT)

# JupyterLab refuses to start as root (e.g. in a container) without --allow-root.
lab: $(STAMP) ## open JupyterLab on this project (PORT_LAB=8889 if 8888 is taken)
	$(VENV)/bin/jupyter lab --notebook-dir=. $(if $(PORT_LAB),--port $(PORT_LAB),) $(if $(filter 0,$(shell id -u)),--allow-root,)

clean: ## remove caches (keeps .venv, data, results and mlflow.db)
	rm -rf .pytest_cache .ruff_cache .cache
	find . -name __pycache__ -type d -prune -not -path './$(VENV)/*' -exec rm -rf {} +
