# Backup Events. Every target sets up what it needs: a fresh machine needs only
# Python 3.11+ and make.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
CHECKOV_VENV := .venv-checkov
TEMPLATE := backup_events_aws.yaml

.PHONY: help demo test unit check template lint bench clean

help:
	@echo "make demo      run the quick start in the local sandbox (no AWS account needed)"
	@echo "make test      check the template and run every test"
	@echo "make unit      the function, template and CLI tests only (seconds)"
	@echo "make lint      yamllint + cfn-lint + checkov on the template"
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

test: check
	$(PY) -m pytest -m "not slow" --cov=src/backup_events_aws --cov-report=term-missing:skip-covered
	@# The Lambda function's own goal: at least 95% of its lines run by the tests.
	$(PY) -m coverage report --include='*/lambda_function.py' --fail-under=95
	@# Reliability and scale runs, without coverage's tracing (it triples their time).
	$(PY) -m pytest -m slow

unit: $(STAMP)
	$(PY) -m pytest -q tests/function tests/template tests/test_cli.py

$(CHECKOV_VENV)/.installed:
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet --upgrade pip
	$(CHECKOV_VENV)/bin/pip install --quiet "checkov==3.3.30"
	touch $@

lint: $(STAMP) $(CHECKOV_VENV)/.installed
	$(VENV)/bin/yamllint --strict -c .yamllint.yaml $(TEMPLATE)
	$(VENV)/bin/cfn-lint -c I --ignore-checks I4010 -- $(TEMPLATE)
	$(CHECKOV_VENV)/bin/checkov --quiet --compact --skip-download --framework cloudformation -f $(TEMPLATE)

bench: $(STAMP)
	$(PY) bench/run.py

clean:
	rm -rf $(VENV) $(CHECKOV_VENV) .coverage .hypothesis
