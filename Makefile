# Backup Events. Every target sets up what it needs: a fresh machine needs only
# Python 3.11+ and make.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
CHECKOV_VENV := .venv-checkov
TEMPLATE := backup_events_aws.yaml

VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml)
RELEASE_VENV := dist/venv
# Values for the release's deploy dry-run (any well-formed ones: it makes no AWS call).
DRY_RUN := --main-profile main --backup-profile backup --main-region us-east-1 \
	--backup-region us-west-2 --alternate-region us-east-1 --org-id o-a1b2c3d4e5 \
	--backup-account-id 999977775555 --dry-run

.PHONY: help demo test unit check template lint release bench clean

help:
	@echo "make demo      run the quick start in the local sandbox (no AWS account needed)"
	@echo "make test      check the template and run every test"
	@echo "make unit      the function, template and CLI tests only (seconds)"
	@echo "make lint      yamllint, cfn-lint, ruff, mypy, checkov (offline)"
	@echo "make release   build dist/ (template + wheel), try the wheel in a fresh venv"
	@echo "make template  embed src/backup_events_aws/lambda_function.py into the template"
	@echo "make bench     measure speed, cost and scale; writes bench/RESULTS.md"

$(STAMP): requirements-dev.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	$(PY) -m pip install --quiet --no-deps -e .
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/backup-events demo

template: $(STAMP)
	$(PY) -m backup_events_aws.template embed $(TEMPLATE)

check: $(STAMP)
	$(PY) -m backup_events_aws.template check $(TEMPLATE)

# Tests run on WORKERS processes (pytest-xdist): tests that share a module's organisation stay on
# one (their xdist_group), and the slow tests start first, longest first (tests/conftest.py).
WORKERS ?= 2
PARALLEL := -n $(WORKERS) --dist loadgroup --no-loadscope-reorder

test: check
	$(PY) -m pytest $(PARALLEL) -m "not slow" --cov=src/backup_events_aws --cov-report=term-missing:skip-covered
	@# The Lambda function's own goal: at least 95% of its lines run by the tests.
	$(PY) -m coverage report --include='*/lambda_function.py' --fail-under=95
	@# Reliability and scale runs, without coverage's tracing (it triples their time). Not in the
	@# session above: on xdist workers pytest-cov's no_cover does not stop the tracing.
	$(PY) -m pytest $(PARALLEL) -m slow

unit: $(STAMP)
	$(PY) -m pytest -q $(PARALLEL) tests/function tests/template tests/test_cli.py

$(CHECKOV_VENV)/.installed:
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet --upgrade pip
	$(CHECKOV_VENV)/bin/pip install --quiet "checkov==3.3.30"
	touch $@

lint: $(STAMP) $(CHECKOV_VENV)/.installed
	$(VENV)/bin/yamllint --strict -c .yamllint.yaml $(TEMPLATE) .pre-commit-config.yaml
	$(VENV)/bin/cfn-lint -c I --ignore-checks I4010 -- $(TEMPLATE)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(CHECKOV_VENV)/bin/checkov --quiet --compact --skip-download --framework cloudformation -f $(TEMPLATE)

# The release as a user gets it: the template and the wheel in dist/, the wheel installed with
# its sandbox extra into a fresh venv, and run from outside the source tree.
release: check
	rm -rf dist build
	mkdir -p dist
	cp $(TEMPLATE) dist/backup_events_aws-$(VERSION).yaml
	$(PY) -m pip wheel --quiet --no-deps --wheel-dir dist .
	$(PYTHON) -m venv $(RELEASE_VENV)
	$(RELEASE_VENV)/bin/pip install --quiet "$$(ls dist/backup_events_aws-$(VERSION)-*.whl)[sandbox]"
	cd /tmp && $(CURDIR)/$(RELEASE_VENV)/bin/backup-events --version | grep -qx "backup-events $(VERSION)"
	cd /tmp && $(CURDIR)/$(RELEASE_VENV)/bin/backup-events deploy $(DRY_RUN)
	cd /tmp && $(CURDIR)/$(RELEASE_VENV)/bin/backup-events demo
	@echo "dist/: backup_events_aws-$(VERSION).yaml and the wheel, tried in $(RELEASE_VENV)"

bench: $(STAMP)
	$(PY) bench/run.py

clean:
	rm -rf $(VENV) $(CHECKOV_VENV) .coverage .hypothesis dist build
