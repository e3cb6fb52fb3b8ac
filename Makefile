# Entry points; the work is in scripts/. How the code is laid out: docs/architecture.md.
#   make dev                      set everything up and serve on http://127.0.0.1:${PORT:-8000}
#   make test ARGS='-k inbox -x'  the whole suite, or what ARGS selects
#   make test-down                stop the test PostgreSQL/Redis left running by make test
#   make backup                   a base backup of the dev PostgreSQL (WAL is archived all along)
#   make restore-drill            restore the latest backup to a point in time, verify it, print RTO/RPO
#   make scale-test               HAProxy, 2 web hosts, 2 worker hosts, replica, PgBouncer: one big broadcast
SHELL := /bin/bash

# services.py is stdlib-only, so it also works before the venv exists.
SERVICES_PY = $(if $(wildcard .venv/bin/python),.venv/bin/python,python3) scripts/services.py

.PHONY: dev test test-down lint migrate bench clean backup restore-drill scale-test

dev:
	@scripts/dev.sh

test:
	@scripts/test.sh $(ARGS)

test-down:
	@$(SERVICES_PY) down --dir .var/test

# Both act on the dev PostgreSQL (started if needed); docs/operations.md says how they work.
DEV_PG = --dir .var/dev --pg-port $${DEV_PG_PORT:-54329}

backup:
	@$(SERVICES_PY) up $(DEV_PG) --no-redis >/dev/null
	@$(SERVICES_PY:services.py=backup.py) base $(DEV_PG)

restore-drill:
	@$(SERVICES_PY) up $(DEV_PG) --no-redis >/dev/null
	@$(SERVICES_PY:services.py=backup.py) drill $(DEV_PG) $(ARGS)

lint:
	@scripts/bootstrap.sh
	.venv/bin/ruff check . && .venv/bin/ruff format --check .

migrate:
	@scripts/dev.sh migrate

scale-test:
	@scripts/bootstrap.sh
	.venv/bin/python scripts/scale_test.py

bench:
	@bench/run.sh $(ARGS)

clean:
	@$(SERVICES_PY) down --dir .var/dev
	@$(SERVICES_PY) down --dir .var/test
	@# As root, clusters may live outside the checkout (scripts/services.py: pg_home).
	@for f in .var/*/pg-location; do [ -f "$$f" ] && rm -rf "$$(cat "$$f")"; done; true
	rm -rf .var
