# GridWatch. The two commands a newcomer needs: `make run` and `make test`.
VENV := .venv/bin
PYTEST_ARGS ?=

.PHONY: run test test-fast test-slow check setup setup-run fmt clean

## run: the whole hub with a simulated demo community, on local services under ./var/
run: setup-run
	$(VENV)/gridwatch up

## test: set up everything from nothing (packages, .venv), then the whole suite
test: setup
	$(VENV)/pytest -m "not slow" $(PYTEST_ARGS)
	$(VENV)/pytest -m slow $(PYTEST_ARGS)

## test-fast: the suite without the slow fault and soak tests
test-fast: setup
	$(VENV)/pytest -m "not slow" $(PYTEST_ARGS)

## check: lint, format, types and import directions
check: setup
	$(VENV)/ruff check .
	$(VENV)/ruff format --check .
	$(VENV)/mypy
	$(VENV)/lint-imports

setup:
	@scripts/bootstrap.sh

setup-run:
	@scripts/bootstrap.sh --no-browser

fmt: setup
	$(VENV)/ruff format .
	$(VENV)/ruff check --fix .

clean:
	rm -rf var .pytest_cache .mypy_cache .ruff_cache test-artifacts
