# The two commands of the README:  `make demo` (main job) and `make test`.
# Both create .venv and install pinned dependencies on first use.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

# On this machine a local copy of the official archive stands in for the download.
SHARED_ARCHIVE := $(abspath ../shared/data/aclImdb_v1.tar.gz)
ifneq ($(wildcard $(SHARED_ARCHIVE)),)
export RNNLAB_IMDB_ARCHIVE ?= $(SHARED_ARCHIVE)
endif

.PHONY: demo test test-all docs install clean chromium

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q "torch==2.13.0"
	$(PY) -m pip install -q -e ".[serve,dev,export]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/rnnlab quickstart

# The browser test drives Debian's chromium; install it when missing (tolerant: without it that test skips).
chromium:
	@command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium) \
		|| echo "chromium not installed: the browser test will be skipped"

test: $(STAMP) chromium
	$(PY) -m pytest -q

test-all: $(STAMP) chromium
	$(PY) -m pytest -q -m "slow or not slow"

# Regenerate every output block of README.md by running its commands (the demo trains: minutes).
docs: $(STAMP)
	$(PY) docs/build.py

clean:
	rm -rf $(VENV) runs
