"""A change to grants is honoured by the very next request in every process (real gunicorn workers)."""

import http.cookiejar
import os
import re
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.database_templates import migrated_database

pytestmark = pytest.mark.deployment  # real gunicorn workers: out of the fast lane
ROOT = Path(__file__).resolve().parents[2]
CELL = re.compile(r'data-project="eu-west-101" data-actions="ims:images:delete"\s+data-allowed="(true|false)"')


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def manage(env, *args, stdin=None):
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, input=stdin, text=True,
                          capture_output=True, timeout=120, check=True)


class Browser:
    """A cookie-keeping HTTP client that signs in through the real form."""

    def __init__(self, base):
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def get(self, path):
        with self.opener.open(self.base + path, timeout=10) as response:
            return response.read().decode()

    def sign_in(self, username):
        html = self.get("/accounts/login/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)
        data = urllib.parse.urlencode({"username": username, "password": "imsperm-demo",
                                       "csrfmiddlewaretoken": token}).encode()
        request = urllib.request.Request(self.base + "/accounts/login/", data=data,
                                         headers={"Referer": self.base + "/accounts/login/"})
        self.opener.open(request, timeout=10).read()


@pytest.fixture
def two_workers(tmp_path):
    env = {**os.environ, "DJANGO_DEBUG": "1", "DATABASE_URL": migrated_database(tmp_path / "db.sqlite3"),
           "IMSPERM_MEDIA_ROOT": str(tmp_path / "media")}
    manage(env, "seed_demo")
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "gunicorn", "imsperm.wsgi", "--workers", "2",
                               "--bind", f"127.0.0.1:{port}", "--log-level", "warning",
                               "--access-logfile", str(tmp_path / "access.log"),
                               "--access-logformat", "%(p)s %(U)s"],
                              cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(base + "/accounts/login/", timeout=2).read()
            break
        except OSError:
            time.sleep(0.2)
    try:
        yield base, env, tmp_path / "access.log"
    finally:
        server.terminate()
        server.wait(timeout=10)


def cells_until_both_workers_answered(viewer, access_log, limit=100):
    """Load My permissions until each of the two workers has answered at least once (bounded).

    Each round sends three requests at once: an idle machine hands sequential requests to the
    worker that has just finished, but a worker busy with one request cannot take the next.
    """
    served_before = len(access_log.read_text().splitlines())
    cells = []
    with ThreadPoolExecutor(max_workers=3) as pool:
        for _ in range(limit):
            pages = pool.map(lambda _: viewer.get("/me/permissions/"), range(3))
            cells.extend(CELL.search(page).group(1) for page in pages)
            workers = {line.split()[0] for line in access_log.read_text().splitlines()[served_before:]}
            if len(workers) == 2:
                return cells
    pytest.fail(f"gunicorn sent all {3 * limit} requests to one worker")


def test_a_grant_attached_by_another_process_shows_on_the_next_request_of_every_worker(two_workers):
    base, env, access_log = two_workers
    viewer = Browser(base)
    viewer.sign_in("viewer")
    # Both workers have cached the viewer's permissions before the change.
    assert set(cells_until_both_workers_answered(viewer, access_log)) == {"false"}
    manage(env, "shell", "-c", (
        "from accounts import services; from accounts.models import *; "
        "services.grant_attach(actor=None, group=UserGroup.objects.get(name='viewers'), "
        "policies=[Policy.objects.get(name='IMS FullAccess')], all_resources=False, "
        "projects=[Project.objects.get(name='eu-west-101')])"))
    # Every answer after the change, from either worker, sees it.
    assert set(cells_until_both_workers_answered(viewer, access_log)) == {"true"}
