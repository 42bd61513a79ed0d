# vitutor: build the book, run every check.  `make book` and `make test` work on a fresh clone.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
CHAPTERS := $(sort $(wildcard book/*.ipynb))
# Chapters nbval executed in full, with their outputs (book/conftest.py); the book build renders
# them from here instead of executing each chapter again (execute_notebooks: cache).
NBCACHE  := _build/.jupyter_cache
# Both cores: unit tests, chapters and browser pages are independent of each other.
JOBS     ?= 2

.PHONY: all book test lint unit notebooks test-browser lab bench lock clean nbcache

all: book

# (Re)create the virtual environment when it is missing or older than the lock.  requirements.txt
# names the direct dependencies; requirements.lock (from `make lock`) pins every package.
$(STAMP): requirements.lock pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null || \
	  { echo "vitutor needs Python >= 3.11; '$(PYTHON)' is $$($(PYTHON) --version 2>&1 || echo missing). Run: make PYTHON=python3.11"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.lock
	touch $@

## book: build the HTML book into _build/html (zero warnings, no broken references); chapters
## that `make notebooks` already ran in full are rendered from its cache, the others executed
book: $(STAMP) nbcache
	$(BIN)/jupyter-book build . -W -n --keep-going

# The cache holds outputs of the package and pins they were computed with: it is emptied when
# any file of vitutor/, requirements.lock or book/conftest.py changes (its KEY is their hash).
nbcache:
	@key=$$(find vitutor book/conftest.py requirements.lock -type f -not -path '*/__pycache__/*' \
	  | LC_ALL=C sort | xargs sha256sum | sha256sum | cut -c1-16); \
	if [ "$$(cat $(NBCACHE)/KEY 2>/dev/null)" != "$$key" ]; then \
	  rm -rf $(NBCACHE); mkdir -p $(NBCACHE); echo "$$key" > $(NBCACHE)/KEY; fi

## test: formatter and linter, unit and property tests, every chapter under nbval, the book build
test: lint unit notebooks book

## lint: ruff's formatter (check only) and linter over vitutor/, tests/, bench/ and the chapters;
## `$(BIN)/ruff format .` then `$(BIN)/ruff check --fix .` repair most of what it reports
lint: $(STAMP)
	$(BIN)/ruff format --check --quiet .
	$(BIN)/ruff check --quiet .

unit: $(STAMP)
	$(BIN)/python -m pytest -q -p no:cacheprovider -n $(JOBS) tests --ignore=tests/browser

## notebooks: every chapter under nbval (each cell must run; each chapter's asserts must hold)
notebooks: $(STAMP) nbcache
	$(BIN)/python -m pytest -q -p no:cacheprovider -n $(JOBS) --dist loadfile \
	  --nbval-lax --nbval-current-env --nb-cache=$(NBCACHE) $(CHAPTERS)

## test-browser: every page of the built book in headless Chromium, offline (needs /usr/bin/chromium);
## the pages are independent tests, split over $(JOBS) workers
test-browser: $(STAMP)
	test -f _build/html/index.html || $(MAKE) book
	$(BIN)/python -m pytest -q -p no:cacheprovider -n $(JOBS) tests/browser

## lab: open the chapters in JupyterLab
lab: $(STAMP)
	$(BIN)/jupyter lab book

## bench: speed ratios against scikit-learn, measured in one run
bench: $(STAMP)
	$(BIN)/python -m bench

## lock: re-pin every package after editing requirements.txt (the only step that needs the index
## beyond `pip install`); tests/test_packaging.py checks the two files agree
lock: requirements.txt | $(STAMP)
	test -x $(BIN)/uv || $(BIN)/python -m pip install --quiet uv==0.13.9
	$(BIN)/uv pip compile requirements.txt -o requirements.lock --universal --python-version 3.11 \
	  --custom-compile-command "make lock" --annotation-style line --quiet

clean:
	rm -rf _build
