# qsnn-book: two commands do everything.
#   make book   build the rendered book (executes every chapter) -> _build/html/index.html
#   make test   unit tests, nbval over every chapter (strict), strict book build
# Other targets: make run CHAPTER=02 PARAMS=params.yaml [OUT=runs/x], make bench, make refresh, make lock,
#   make unit (the test suite without the built book), make exhaustive (full products of kernel options).

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
MATHJAX_VERSION := 3.2.2
MATHJAX_SHA256  := 1b9c0a1c44df864e915690558e72adb9cc5203360daefd385084ced3b6c64c09
MATHJAX_DIR     := book/_static/mathjax
# The kernel used to execute chapters is the virtual environment's own.
export JUPYTER_PREFER_ENV_PATH := 1
export PYDEVD_DISABLE_FILE_VALIDATION := 1
# Chapters are sized for 2 threads; the same count everywhere keeps committed outputs reproducible.
export OMP_NUM_THREADS ?= 2
# MPLBACKEND stays unset: a kernel with MPLBACKEND=Agg draws no inline figures.

NBVAL_FLAGS := --nbval --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg
# Two worker processes; all tests of a file in one of them, so the kernels a file shares compile once.
XDIST_FLAGS := -n 2 --dist loadfile

.PHONY: setup book test unit exhaustive nbval build-strict run run-usage bench refresh lock clean clean-cache data

setup: $(STAMP) $(MATHJAX_DIR)/tex-chtml.js data

$(STAMP): requirements/lock.txt pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] >= (3, 11), "qsnn-book needs Python >= 3.11 (found %s); run make PYTHON=python3.11" % sys.version.split()[0]'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements/lock.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (qsnn)" >/dev/null
	touch $(STAMP)

# MathJax 3 served from the book itself, so equations render without network.
$(MATHJAX_DIR)/tex-chtml.js:
	@tmp=$$(mktemp -d) && cd $$tmp && npm pack --silent mathjax@$(MATHJAX_VERSION) >/dev/null \
	  && echo "$(MATHJAX_SHA256)  mathjax-$(MATHJAX_VERSION).tgz" | sha256sum -c --quiet - \
	  && tar xzf mathjax-$(MATHJAX_VERSION).tgz package/es5 && cd - >/dev/null \
	  && rm -rf $(MATHJAX_DIR) && mkdir -p $(dir $(MATHJAX_DIR)) && mv $$tmp/package/es5 $(MATHJAX_DIR) && rm -rf $$tmp

# Fashion-MNIST (Xiao, Rasul & Vollgraf 2017, MIT licence): the four original IDX files, taken from
# the Debian package dataset-fashion-mnist without root (apt-get download + dpkg -x) into the
# ignored data/ folder. Never committed; nothing happens when the files are already there.
FASHION_MNIST_DIR   := data/fashion-mnist
FASHION_MNIST_FILES := train-images-idx3-ubyte.gz train-labels-idx1-ubyte.gz t10k-images-idx3-ubyte.gz t10k-labels-idx1-ubyte.gz
FASHION_MNIST_DEB   := /usr/share/datasets/fashion-mnist

data:
	@missing=""; for f in $(FASHION_MNIST_FILES); do test -s $(FASHION_MNIST_DIR)/$$f || missing="$$missing $$f"; done; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if command -v apt-get >/dev/null 2>&1 && command -v dpkg >/dev/null 2>&1; then \
	  tmp=$$(mktemp -d) && ( cd $$tmp && { apt-get download dataset-fashion-mnist >/dev/null 2>&1 \
	      || { apt-cache show dataset-fashion-mnist >/dev/null 2>&1 || apt-get update >/dev/null 2>&1; \
	           apt-get download dataset-fashion-mnist >/dev/null 2>&1; }; } \
	    && dpkg -x dataset-fashion-mnist_*.deb root ) \
	  && mkdir -p $(FASHION_MNIST_DIR) \
	  && for f in $(FASHION_MNIST_FILES); do mv $$tmp/root$(FASHION_MNIST_DEB)/$$f $(FASHION_MNIST_DIR)/$$f.part \
	       && mv $(FASHION_MNIST_DIR)/$$f.part $(FASHION_MNIST_DIR)/$$f || exit 1; done \
	  && rm -rf $$tmp && echo "Fashion-MNIST: $(CURDIR)/$(FASHION_MNIST_DIR)" && exit 0; \
	  rm -rf $$tmp; \
	fi; \
	echo "Fashion-MNIST not found and not obtainable with apt here: put$$missing into $(CURDIR)/$(FASHION_MNIST_DIR)/"; \
	echo "  (the four files of https://github.com/zalandoresearch/fashion-mnist, served from http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/)"

book: setup
	$(BIN)/jupyter-book build . --builder html
	@echo "Book: $(CURDIR)/_build/html/index.html"

test: setup unit nbval build-strict
	$(BIN)/python -m pytest -q -m book tests/book/test_built_book.py
	@echo "make test: all stages passed"

unit: setup
	$(BIN)/python -m pytest -q $(XDIST_FLAGS) -m "not book" tests

# The full products of kernel options that the unit tests cover pairwise (every option, every pair).
exhaustive: setup
	$(BIN)/python -m pytest -q $(XDIST_FLAGS) --exhaustive -m exhaustive tests

nbval: setup
	$(BIN)/python -m pytest -q $(NBVAL_FLAGS) book

# Renders the committed (nbval-checked) outputs without executing again; warnings are errors.
build-strict: setup
	$(BIN)/python -m qsnn.book config --no-execute > _build_config.yml.tmp && mkdir -p _build && mv _build_config.yml.tmp _build/_config.noexec.yml
	$(BIN)/jupyter-book build . --builder html --config _build/_config.noexec.yml -W --keep-going
	@echo "Book: $(CURDIR)/_build/html/index.html"

# Without CHAPTER the usage comes first, before any set-up is done.
run: $(if $(CHAPTER),setup,run-usage)
	$(BIN)/python -m qsnn.book chapter "$(CHAPTER)" $(if $(PARAMS),--params "$(PARAMS)") $(if $(OUT),--out "$(OUT)")

run-usage:
	@echo "usage: make run CHAPTER=<name or number> [PARAMS=file.yaml] [OUT=folder]" >&2; exit 2

bench: setup
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c requirements/lock.txt -r requirements/bench.txt
	$(BIN)/python benchmarks/run_all.py

# Re-executes every chapter in place (after an intended change of outputs), then nbval must pass again.
refresh: setup
	$(BIN)/python -m qsnn.book refresh

# Re-resolves requirements/base.in into the exact lock (needs the registries).
lock:
	rm -rf _build/lockenv && $(PYTHON) -m venv _build/lockenv
	_build/lockenv/bin/pip install --quiet -r requirements/base.in
	_build/lockenv/bin/pip freeze --all | grep -v -E '^(pip|qsnn)[= ]' | sed 's/+cpu$$//' > requirements/lock.txt
	rm -rf _build/lockenv

clean-cache:
	rm -rf _build/.jupyter_cache

clean:
	rm -rf _build results runs
