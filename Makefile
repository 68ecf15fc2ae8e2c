# Everyday tasks. Each recipe is the command a newcomer could type by hand; `.ci/run` runs `check` and
# the same `uv run pytest` as `test`.
.PHONY: help check test-fast test bench docs version

help:  ## list the tasks
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

check:  ## lint, formatting, types, and docs/metrics.md up to date with the declarations
	uv run ruff check .
	uv run ruff format --check .
	uv run mypy
	uv run python -m bi_cli.docs --check

test-fast:  ## the tests that need no Spark, pipeline run, process of ours or S3 (about a minute)
	uv run pytest -m unit

test:  ## every test, as CI runs them
	uv run pytest

bench:  ## the benchmark at the default size (bench/run.py --scale N for others)
	uv run python bench/run.py

docs:  ## regenerate docs/metrics.md from the declarations
	uv run python -m bi_cli.docs

# The product has one version. uv_build reads a package's version only from its own pyproject.toml, so
# the root and every workspace member declare it and are set together; tests/lake/test_version.py fails
# when one differs. The lock records the members' versions, so it follows.
MEMBERS := $(patsubst %/pyproject.toml,%,$(wildcard packages/*/pyproject.toml apps/*/pyproject.toml infra/pyproject.toml))

version:  ## set the product's version everywhere and re-lock: make version VERSION=X.Y.Z
	@test -n "$(VERSION)" || { echo "make version: name the version, e.g. make version VERSION=0.2.0" >&2; exit 2; }
	uv version --frozen $(VERSION)
	@for member in $(MEMBERS); do uv --directory $$member version --frozen $(VERSION) || exit 1; done
	uv lock
