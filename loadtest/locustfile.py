"""Personas for `make loadtest` (driven by loadtest/run.py, which starts the servers and the world).

Every request goes to the next of the two servers in turn, as a round-robin proxy without sticky
sessions would send it, so a session begun on one server is used on the other. Readers browse,
search and page; writers create an image, upload a small real QCOW2 file, modify it twice and
delete it; refusers try to modify and delete images they may only read; one flapper keeps
modifying its image while the administrator attaches and detaches the grant allowing it. Each
write or refusal attempt is journaled with its send and answer times for loadtest/world.py verify.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import re
import struct
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

from locust import HttpUser, between, events, task
from locust.exception import StopUser

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from loadtest import figures

WORLD = json.loads(Path(os.environ["LOADTEST_WORLD"]).read_text())
SERVERS = os.environ["LOADTEST_SERVERS"].split(",")
_next_server = itertools.cycle(SERVERS)
_reader_accounts = itertools.cycle(WORLD["readers"])
_writer_accounts = itertools.cycle(WORLD["writers"])
IMAGE_URL = re.compile(r"/images/([0-9a-f-]{36})/")
# The revision an edit form was loaded at: sent back with the save, as a browser sends it (issue 19).
REVISION_FIELD = re.compile(r'name="revision" value="(\d+)"')
# A QCOW2 version 2 header (magic, version, zeros for the rest of its 72 bytes), padded to a sector.
QCOW2_FILE = b"QFI\xfb" + struct.pack(">I", 2) + bytes(504)

JOURNAL: list[dict] = []
MEASURED: list[tuple[str, float, int]] = []  # (name, milliseconds, status) of every request
UNEXPECTED: Counter = Counter()  # "name: status" of every answer outside what its request expects
_clock = {}


@events.test_start.add_listener
def _started(environment=None, **_):
    _clock["start"] = time.time()
    stop_file = os.environ.get("LOADTEST_STOP_FILE")
    if stop_file and environment is not None:  # make faulttest ends the run when its phases are done
        import gevent

        def stop_when_asked():
            while not Path(stop_file).exists():
                gevent.sleep(0.2)
            environment.runner.quit()  # as --run-time does: users finish their task (--stop-timeout)

        gevent.spawn(stop_when_asked)


# Every request with its answer time, kept only when LOADTEST_REQUESTS names a file (make faulttest
# judges each fault's window by them): (name, sent, answered, status, Retry-After sent, traceback in body).
REQUESTS: list[tuple] | None = [] if os.environ.get("LOADTEST_REQUESTS") else None


@events.request.add_listener
def _measured(name, response_time, response=None, **_):
    status = getattr(response, "status_code", 0) or 0
    MEASURED.append((name, response_time, status))
    if REQUESTS is not None:
        answered = time.time()
        headers = getattr(response, "headers", None) or {}
        body = (getattr(response, "text", "") or "") if status >= 500 else ""
        REQUESTS.append((name, round(answered - response_time / 1000, 3), round(answered, 3), status,
                         "Retry-After" in headers, "Traceback" in body))


@events.quitting.add_listener
def _write_results(**_):
    duration = time.time() - _clock.get("start", time.time())
    summary = figures.summary(MEASURED, UNEXPECTED, duration)
    Path(os.environ["LOADTEST_SUMMARY"]).write_text(json.dumps(summary))
    Path(os.environ["LOADTEST_JOURNAL"]).write_text("".join(json.dumps(entry) + "\n" for entry in JOURNAL))
    if REQUESTS is not None:
        Path(os.environ["LOADTEST_REQUESTS"]).write_text(json.dumps(REQUESTS))


class Console(HttpUser):
    abstract = True
    host = SERVERS[0]
    wait_time = between(0.1, 0.6)
    persona = ""

    def call(self, method, path, name, expect, **kwargs):
        """One request to the next server; a status outside `expect` is a locust failure."""
        server = next(_next_server)
        started = time.time()
        with self.client.request(method, server + path, name=name, catch_response=True, allow_redirects=False,
                                 timeout=30, **kwargs) as response:
            if response.status_code in expect:
                response.success()
            else:
                response.failure(f"answered {response.status_code}, expected {sorted(expect)}")
                UNEXPECTED[f"{name}: {response.status_code}"] += 1
        return response, started, time.time()

    def post(self, path, name, expect, data, files=None, *, journal=None):
        data = {**data, "csrfmiddlewaretoken": self.client.cookies.get("csrftoken", "")}
        response, started, answered = self.call("POST", path, name, expect, data=data, files=files)
        if journal is not None:
            JOURNAL.append({"persona": self.persona, "user": self.username, "status": response.status_code,
                            "t0": started, "t1": answered, **journal})
        return response

    def sign_in(self, username, password):
        """Sign in; an answer other than the redirect (a 503 while a part is down) is tried again for up
        to a minute, then this user stops: a user never signed in would journal the sign-in page's
        redirects as acknowledged writes."""
        self.username = username
        for attempt in range(20):
            if attempt:
                time.sleep(3)
            self.call("GET", "/accounts/login/", "sign-in form", {200})
            if self.post("/accounts/login/", "sign in", {302}, {"username": username, "password": password}
                         ).status_code == 302:
                return
        raise StopUser()

    def on_start(self):
        self.sign_in(self.account(), WORLD["password"])


class Reader(Console):
    """Browses the image list of a project, its tabs and pages, and opens images."""

    weight = 5
    persona = "reader"

    def account(self):
        return next(_reader_accounts)

    @task(4)
    def list_page(self):
        project = random.choice(WORLD["writer_projects"])
        tab = random.choice(["private", "public", "shared"])
        self.call("GET", f"/images/?project={project}&tab={tab}", "list", {200})

    @task(2)
    def next_page(self):
        self.call("GET", f"/images/?tab=public&page={random.randint(1, 3)}", "list page N", {200})

    @task(3)
    def detail(self):
        self.call("GET", f"/images/{random.choice(WORLD['browse'])}/", "detail", {200})


class Searcher(Reader):
    """Searches by name, sorted, across pages."""

    weight = 3
    persona = "searcher"

    @task(5)
    def search(self):
        term = random.choice(WORLD["search_terms"])
        sort = random.choice(["name", "-created", "size", "-name"])
        self.call("GET", f"/images/?tab=public&q={term}&sort={sort}", "search", {200})

    @task(2)
    def search_next_page(self):
        self.call("GET", f"/images/?tab=private&q=linux&page={random.randint(1, 2)}", "search page N", {200})


class Refuser(Console):
    """A read-only user who tries to modify and delete images: refused every time, never done."""

    weight = 2
    persona = "refuser"

    def account(self):
        return next(_reader_accounts)

    @task
    def try_to_modify(self):
        image, token = random.choice(WORLD["sentinels"]), f"refused-{uuid.uuid4().hex}"
        self.post(f"/images/{image}/modify/", "refused modify", {403},
                  {"name": "load-sentinel-hacked", "description": token, "os_version": "", "min_disk": 40,
                   "min_ram": 1024}, journal={"op": "modify", "image": image, "token": token,
                                               "audit_action": "ims:images:update", "audit_target": image})

    @task
    def try_to_delete(self):
        image = random.choice(WORLD["sentinels"])
        self.post(f"/images/{image}/delete/", "refused delete", {403},
                  journal={"op": "delete", "image": image, "audit_action": "ims:images:delete",
                           "audit_target": image}, data={})


class Writer(Console):
    """The life of an image: create, upload its file, modify twice, delete; one step per task."""

    weight = 6
    persona = "writer"

    def account(self):
        return next(_writer_accounts)

    def on_start(self):
        super().on_start()
        self.project = WORLD["writer_projects"][int(self.username.rsplit("-", 1)[1]) % len(WORLD["writer_projects"])]
        self.image, self.step, self.serial = None, 0, 0

    def journal(self, op, action, **extra):
        return {"op": op, "image": self.image, "audit_action": action, "audit_target": self.image, **extra}

    @task
    def next_step(self):
        if self.image is None:
            self.create()
        elif self.step == 1:
            response = self.post(f"/images/{self.image}/upload/", "upload", {302}, {},
                                 files={"file": ("disk.qcow2", QCOW2_FILE, "application/octet-stream")},
                                 journal=self.journal("upload", "ims:images:upload"))
            self.step += response.status_code == 302
        elif self.step in (2, 3):
            token = f"{self.username}-{uuid.uuid4().hex}"
            page, _sent, _answered = self.call("GET", f"/images/{self.image}/", "detail (own image)", {200})
            revision = REVISION_FIELD.search(page.text or "")
            response = self.post(f"/images/{self.image}/modify/", "modify", {302},
                                 {"name": f"load-{self.username}-{self.serial}", "description": token,
                                  "os_version": "Ubuntu 22.04 server 64bit", "min_disk": 40, "min_ram": 2048,
                                  "revision": revision.group(1) if revision else ""},
                                 journal=self.journal("modify", "ims:images:update", token=token))
            self.step += response.status_code == 302
        else:
            response = self.post(f"/images/{self.image}/delete/", "delete", {302}, {},
                                 journal=self.journal("delete", "ims:images:delete"))
            if response.status_code == 302:
                self.image = None

    def create(self):
        self.serial += 1
        self.call("GET", f"/images/create/?project={self.project}", "create form", {200})
        response = self.post(f"/images/create/?project={self.project}", "create", {302}, {
            "name": f"load-{self.username}-{self.serial}", "kind": "system", "description": "new",
            "os_type": "Linux", "platform": "Ubuntu", "os_version": "Ubuntu 22.04 server 64bit", "os_bit": 64,
            "architecture": "x86", "disk_format": "qcow2", "min_disk": 40, "min_ram": 1024},
            journal={"op": "create", "image": None, "name": f"load-{self.username}-{self.serial}",
                     "audit_action": "ims:serverImages:create", "audit_target": None})
        found = IMAGE_URL.search(response.headers.get("Location", ""))
        if found:  # the new image's id is known from the answer only
            self.image, self.step = found.group(1), 1
            JOURNAL[-1].update(image=self.image, audit_target=self.image)


class Flapper(Console):
    """Keeps modifying its image; allowed exactly while the administrator's grant is attached.

    It is the only writer of its image, so it knows the image's revision without reading the form
    (which it may not open while the grant is detached): the world's starting one, plus one per save.
    A save whose answer never came (a killed worker) or said "try again" may have been done: then it reads
    the revision from the image's page, which shows the form only while the grant is attached, and saves
    nothing until it has it (a save with a stale revision would be a 409 judged as a stale refusal)."""

    fixed_count = 1
    persona = "flapper"
    wait_time = between(0.02, 0.1)

    def account(self):
        return WORLD["flapper"]

    def on_start(self):
        super().on_start()
        self.revision = WORLD["flap"]["revision"]

    @task
    def modify(self):
        image, token = WORLD["flap"]["image"], f"flap-{uuid.uuid4().hex}"
        if self.revision is None and not self.learn_revision(image):
            return
        response = self.post(f"/images/{image}/modify/", "flapper modify", {302, 403},
                             {"name": "load-flap-target", "description": token, "os_version": "", "min_disk": 40,
                              "min_ram": 1024, "revision": self.revision},
                             journal={"op": "modify", "image": image, "token": token,
                                      "audit_action": "ims:images:update", "audit_target": image})
        if response.status_code == 302:
            self.revision += 1
        elif response.status_code != 403:  # no answer, 503, 409: done or not, the revision is not known
            self.revision = None

    def learn_revision(self, image) -> bool:
        page, _sent, _answered = self.call("GET", f"/images/{image}/", "detail (flapper)", {200, 503})
        found = REVISION_FIELD.search(page.text or "")
        if found:
            self.revision = int(found.group(1))
        return found is not None


class Administrator(Console):
    """Attaches and detaches the flapper's update grant through the IAM console, about once a second."""

    fixed_count = 1
    persona = "admin"
    wait_time = between(0.5, 1.0)

    def on_start(self):
        self.sign_in(WORLD["admin"]["username"], WORLD["admin"]["password"])
        self.attached = False

    @task
    def flip(self):
        flap = WORLD["flap"]
        group, policy = flap["group"], flap["policy"]
        target = {"audit_target": str(group)}
        if self.attached:
            response = self.post(f"/iam/groups/{group}/permissions/detach/", "detach grant", {302},
                                 {"policies": policy}, journal={"op": "detach", **target,
                                                                "audit_action": "iam:permissions:revokePermission"})
        else:
            response = self.post(f"/iam/groups/{group}/permissions/attach/", "attach grant", {302},
                                 {"policies": policy, "scope": "projects", "projects": flap["project"],
                                  "step": "confirm"},
                                 journal={"op": "attach", **target, "audit_action": "iam:permissions:grantPermission"})
        if response.status_code == 302:
            self.attached = not self.attached
