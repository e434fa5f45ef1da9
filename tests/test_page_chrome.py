"""The page chrome drawn once per process ({% chrome %}, accounts/templatetags/chrome.py; issue 23) shows
what it showed when drawn on every page: a grant change on the very next page, each page its own path,
each person their own name and a CSRF token that works."""

import re

import pytest
from django.template import Context, Engine, Template, TemplateSyntaxError
from django.test import Client

from accounts import services
from accounts.models import User, UserGroup
from accounts.templatetags import chrome

pytestmark = pytest.mark.usefixtures("demo")
BADGE = 'class="access-request-badge-slot"'
QUEUE_POLICY = {"Version": "1.1", "Statement": [{"Effect": "Allow", "Action": ["iam:accessRequests:list"]}]}


def signed_in(username, **options):
    browser = Client(**options)
    browser.force_login(User.objects.get(username=username))
    return browser


def page(browser, url="/images/?tab=public"):
    response = browser.get(url)
    assert response.status_code == 200
    return response.content.decode()


def test_the_access_request_badge_follows_a_grant_on_the_very_next_page():
    viewer = signed_in("viewer")
    assert BADGE not in page(viewer)
    policy = services.policy_create(actor=None, name="queue-readers", document=QUEUE_POLICY)
    viewers = UserGroup.objects.get(name="viewers")
    services.grant_attach(actor=None, group=viewers, policies=[policy], all_resources=True)
    assert BADGE in page(viewer)
    services.grant_detach(actor=None, group=viewers, policies=[policy])
    assert BADGE not in page(viewer)


def test_each_page_carries_its_own_path_and_each_person_their_own_name():
    for username in ("viewer", "ims-admin"):
        browser = signed_in(username)
        for url, path in (("/images/?tab=public", "/images/"), ("/me/permissions/", "/me/permissions/")):
            html = page(browser, url)
            assert re.search(r'name="next" value="([^"]*)"', html).group(1) == path
            assert f'data-testid="current-user">{username}</span>' in html
    drawn = len(chrome._FRAGMENTS)
    page(browser, "/me/permissions/")
    assert len(chrome._FRAGMENTS) == drawn  # the same state again: drawn from the process cache


def test_the_token_the_chrome_shows_is_this_request_s_and_accepted():
    browser = signed_in("viewer", enforce_csrf_checks=True)
    html = page(browser)
    tokens = set(re.findall(r'name="csrfmiddlewaretoken" value="([^"]+)"', html))
    assert len(tokens) == 1 and re.search(r'"X-CSRFToken": "([^"]+)"', html).group(1) in tokens
    assert "\x02" not in html
    response = browser.post("/me/preferences/theme/", {"theme": "dark", "next": "/images/",
                                                   "csrfmiddlewaretoken": tokens.pop()})
    assert response.status_code == 302
    assert 'data-theme="dark"' in page(browser)
    assert re.search(r'value="dark" aria-pressed="true"', page(browser))


def test_a_chrome_block_cannot_hold_a_page_s_block():
    engine = Engine(libraries={"chrome": "accounts.templatetags.chrome"})
    with pytest.raises(TemplateSyntaxError):
        engine.from_string("{% load chrome %}{% chrome %}{% block title %}{% endblock %}{% endchrome %}")
    drawn = Template("{% load chrome %}{% chrome name %}<b>{{ name }}</b>{% endchrome %}")
    assert [drawn.render(Context({"name": name})) for name in ("a<", "b", "a<")] == ["<b>a&lt;</b>", "<b>b</b>",
                                                                                    "<b>a&lt;</b>"]
