# pgcredits: `make run` starts the local ledger, `make test` runs every test.

APT_PACKAGES := postgresql-15 postgresql-15-pgtap postgresql-15-cron pgbouncer python3-venv chromium
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
VENV := .venv
# Re-install only when pyproject.toml changes (the stamp lives in the venv).
VENV_STAMP := $(VENV)/.installed-pyproject
PYTEST_ARGS ?=

.PHONY: deps venv run test test-citus citus-deps screenshots soak bench bench-deps bench-quick bench-citus clean

deps:
	@missing=""; \
	for package in $(APT_PACKAGES); do \
		dpkg -s "$$package" >/dev/null 2>&1 || missing="$$missing $$package"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		$(SUDO) apt-get update && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y $$missing; \
	fi

venv: $(VENV_STAMP)

$(VENV_STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet -e '.[dev]'
	touch $@

run: deps venv
	$(VENV)/bin/pgcredits up

test: deps venv
	$(VENV)/bin/pytest $(PYTEST_ARGS)

# The product on Citus (issue 16; not part of `make test`, it takes a few minutes): builds Citus 13.2.2
# from its source tarball into .citus/ (never committed; once, about 3 minutes on 2 cores), starts a
# coordinator and two workers on free local ports and runs the acceptance suite tests/citus/ against the
# coordinator. The tarball is citus/citus-13.2.2.tar.gz in the shared folder beside the repository, with
# its PostgreSQL 15 headers patch beside it; CITUS_TARBALL (and CITUS_PATCH) name others.
CITUS_BUILD_PACKAGES := postgresql-server-dev-15 liblz4-dev libzstd-dev libkrb5-dev libssl-dev libselinux1-dev \
	libxslt1-dev libpam0g-dev libreadline-dev
citus-deps:
	@missing=""; \
	for package in $(CITUS_BUILD_PACKAGES); do \
		dpkg -s "$$package" >/dev/null 2>&1 || missing="$$missing $$package"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		$(SUDO) apt-get update && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y $$missing; \
	fi
	MAKE_JOBS=2 tests/citus/build_citus.sh

test-citus: deps venv citus-deps
	$(VENV)/bin/pytest tests/citus $(PYTEST_ARGS)

# The widget's pictures (docs/widget-*.png) and its gzipped size in docs/widget.md, rewritten from a
# run of its tests in headless Chromium (the same tests `make test` runs, which only compare).
screenshots: deps venv
	PGCREDITS_UPDATE_DOCS=1 $(VENV)/bin/pytest tests/test_widget.py tests/test_widget_browser.py $(PYTEST_ARGS)

# The long fault runs (not part of `make test`): the server killed with
# SIGKILL under load $(SOAK_KILLS) times, and the model test at more examples.
SOAK_KILLS ?= 25
soak: deps venv
	SOAK_KILLS=$(SOAK_KILLS) MODEL_EXAMPLES=400 $(VENV)/bin/pytest tests/test_crash.py tests/test_model.py $(PYTEST_ARGS)

# Speed, measured side by side with bare references (not part of `make test`), written to docs/benchmarks.md.
# `make bench` takes about 40 minutes; `make bench-quick` is a smoke run of a few minutes with rough figures.
BENCH_ARGS ?=
# The gateway part drives its load with wrk (a C load generator), installed here, not for `make test`.
BENCH_APT_PACKAGES := wrk
bench-deps: deps
	@dpkg -s $(BENCH_APT_PACKAGES) >/dev/null 2>&1 || { $(SUDO) apt-get update && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y $(BENCH_APT_PACKAGES); }

bench: bench-deps venv
	$(VENV)/bin/python bench/suite.py $(BENCH_ARGS)

bench-quick: bench-deps venv
	$(VENV)/bin/python bench/suite.py --quick $(BENCH_ARGS)

# Deduct throughput on Citus (1 coordinator + 2 workers) beside a single PostgreSQL node, in one run
# (docs/scale-out.md); about 10 minutes. BENCH_ARGS: e.g. --seconds 5 --runs 1 for a smoke run.
bench-citus: deps venv citus-deps
	$(VENV)/bin/python bench/citus.py $(BENCH_ARGS)

# Stops the local cluster of `make run` and deletes it with everything built.
clean:
	if [ -x $(VENV)/bin/pgcredits ]; then $(VENV)/bin/pgcredits down; fi
	rm -rf $(VENV) .pgcredits .pytest_cache python/*.egg-info build .citus
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
