"""gunicorn's master loads the console and what its pages' first requests would load before it forks the
workers (imsperm/gunicorn.conf.py, issue 23): a worker started or replaced serves its first page warm,
and inherits no database connection from the master."""

import runpy

from django.conf import settings
from django.db import connections
from django.template import engines


def test_the_master_preloads_and_warms_what_workers_would_load_on_their_first_requests(monkeypatch):
    config = runpy.run_path(str(settings.BASE_DIR / "imsperm" / "gunicorn.conf.py"))
    assert config["preload_app"] is True
    loader = engines["django"].engine.template_loaders[0]  # the cached loader, as in production
    loader.reset()
    closed = []
    monkeypatch.setattr(connections, "close_all", lambda: closed.append(True))
    config["when_ready"](None)  # pytest-django refuses any database query here: warming makes none
    warmed = loader.get_template_cache
    assert {"images/list.html", "images/detail.html", "base.html", "partials/pager.html"} <= warmed.keys()
    assert closed  # and any connection opened on the way is closed before the fork
