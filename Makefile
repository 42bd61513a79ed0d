# vitutor: build the book, run every check.  `make book` and `make test` work on a fresh clone.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
CHAPTERS := $(sort $(wildcard book/*.ipynb))

.PHONY: all book test unit notebooks test-browser lab bench clean

all: book

# (Re)create the virtual environment when it is missing or older than the pins.
$(STAMP): requirements.txt pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null || \
	  { echo "vitutor needs Python >= 3.11; '$(PYTHON)' is $$($(PYTHON) --version 2>&1 || echo missing). Run: make PYTHON=python3.11"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $@

## book: build the HTML book into _build/html (zero warnings, no broken references)
book: $(STAMP)
	$(BIN)/jupyter-book build . -W -n --keep-going

## test: unit and property tests, every chapter under nbval, then the book build
test: unit notebooks book

unit: $(STAMP)
	$(BIN)/python -m pytest -q -p no:cacheprovider tests --ignore=tests/browser

notebooks: $(STAMP)
	$(BIN)/python -m pytest -q -p no:cacheprovider --nbval-lax --nbval-current-env $(CHAPTERS)

## test-browser: every page of the built book in headless Chromium, offline (needs /usr/bin/chromium)
test-browser: $(STAMP)
	test -f _build/html/index.html || $(MAKE) book
	$(BIN)/python -m pytest -q -p no:cacheprovider tests/browser

## lab: open the chapters in JupyterLab
lab: $(STAMP)
	$(BIN)/jupyter lab book

## bench: speed ratios against scikit-learn, measured in one run
bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf _build
