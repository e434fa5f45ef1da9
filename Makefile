# The two commands of the README: `make run` and `make test`. Each sets itself up.
# `make serve` and `make loadtest` are the production ones (README, Production).
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
export DJANGO_SETTINGS_MODULE := imsperm.settings
# Python keeps what it compiled (__pycache__, ignored by git), even where the shell says not to
# (PYTHONDONTWRITEBYTECODE): otherwise every test worker, server and subprocess compiles the app again, and pytest
# rewrites every test module's asserts again, about 5 s per process start here.
unexport PYTHONDONTWRITEBYTECODE

.PHONY: run test test-fast test-database setup migrate demo lint bench browser-deps clean serve loadtest faulttest check-translations

$(VENV)/.installed: requirements.txt
	@test -x $(PY) || "$$(scripts/find-python)" -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	@touch $@

setup: $(VENV)/.installed

migrate: setup
	DJANGO_DEBUG=1 $(PY) manage.py migrate --noinput

demo: migrate
	DJANGO_DEBUG=1 $(PY) manage.py seed_demo

run: demo
	@echo ""
	@echo "imsperm: http://127.0.0.1:$(PORT)/   (Ctrl-C stops it)"
	@echo "Demo logins: the table above (password imsperm-demo); the sign-in page shows it too."
	@echo "Another port: make run PORT=8080"
	DJANGO_DEBUG=1 $(PY) manage.py runserver 127.0.0.1:$(PORT)

# The suite runs on every core (pytest-xdist), in one run: a test file stays on one worker so that its module's
# fixtures are built once, while browser tests and sweeps (one test per persona) are dealt out one at a time
# to whichever worker is free, browser tests last (tests/conftest.py: pytest_itemcollected and
# pytest_collection_modifyitems). Exit code 5 (no test selected, e.g. PYTEST_ARGS naming one file) is not a
# failure. Each run ends with its 25 slowest tests, so CI says where time goes.
JOBS ?= auto
PYTEST := DJANGO_DEBUG=1 DJANGO_ALLOW_ASYNC_UNSAFE=true $(PY) -m pytest -n $(JOBS) --dist loadgroup --durations=25

test: setup
	@scripts/ensure-chromium || echo "warning: no Chromium; browser tests will be reported as skipped"
	@scripts/ensure-gettext
	$(PYTEST) $(PYTEST_ARGS) || [ $$? -eq 5 ]

# The fast lane: everything but the browser tests, the deployment tests (real gunicorn workers) and the sweeps (every
# route, field or change for every persona: the crawler, the fuzzers, the brute forces; marker `sweep`).
# Its property tests draw a quarter of their examples (tests/properties.py); make test and CI draw them all.
test-fast: setup
	@scripts/ensure-gettext
	IMSPERM_FAST_LANE=1 $(PYTEST) -m "not browser and not deployment and not sweep" $(PYTEST_ARGS) || [ $$? -eq 5 ]

# CI's PostgreSQL pass: the fast lane and the sweeps, i.e. everything a database can change (not the
# browser's markup, not the deployment tests, which run on PostgreSQL and Redis in any case).
test-database: setup
	@scripts/ensure-gettext
	$(PYTEST) -m "not browser and not deployment" $(PYTEST_ARGS) || [ $$? -eq 5 ]

# Production: settings from the environment (DJANGO_SECRET_KEY required); static files hashed and
# compressed, the schema migrated, then gunicorn with a worker per core (imsperm/gunicorn.conf.py).
serve: setup
	$(PY) manage.py collectstatic --noinput --verbosity 0
	$(PY) manage.py migrate --noinput
	$(VENV)/bin/gunicorn -c imsperm/gunicorn.conf.py imsperm.wsgi

# Two servers on PostgreSQL and Redis under locust on loopback (LOADTEST_SECONDS, at most 120).
loadtest: setup
	$(PY) loadtest/run.py

faulttest: setup
	$(PY) loadtest/faulttest.py

lint: setup
	$(VENV)/bin/ruff check .

bench: setup
	DJANGO_DEBUG=1 $(PY) bench/run.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) db.sqlite3 media staticfiles test-artifacts loadtest-report faulttest-report

# The Simplified Chinese translation is complete and current: no empty or fuzzy message, the .po in step
# with the marked strings (makemessages on a copy), no template string left unmarked (CI runs this).
check-translations: setup
	@scripts/ensure-gettext
	DJANGO_DEBUG=1 $(PY) scripts/check-translations
