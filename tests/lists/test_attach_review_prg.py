"""The attach review is reached by post/redirect/get: choosing redirects to the review's own address, so
Back and Forward (or a reload) redraw it without posting again; confirming still attaches."""

from urllib.parse import parse_qs, urlsplit

import pytest

from accounts.models import Grant, Policy, Project, UserGroup

pytestmark = pytest.mark.usefixtures("demo")


def test_choosing_redirects_to_a_review_that_redraws_without_a_post(as_user):
    browser = as_user("admin")
    viewers = UserGroup.objects.get(name="viewers")
    server = Policy.objects.get(name="Server Administrator")
    north = Project.objects.get(name="cn-north-4")
    url = f"/iam/groups/{viewers.pk}/permissions/attach/"
    chosen = browser.post(url, {"step": "review", "policies": [server.pk], "scope": "projects",
                                "projects": [north.pk], "duration": "", "expires": ""})
    assert chosen.status_code == 302
    review_url = chosen["Location"]
    query = parse_qs(urlsplit(review_url).query)
    assert query["step"] == ["review"] and query["policies"] == [str(server.pk)] and query["projects"] == [
        str(north.pk)]
    assert "csrfmiddlewaretoken" not in query
    for _ in range(2):  # the review, then Back and Forward to it
        review = browser.get(review_url)
        assert review.status_code == 200
        page = review.content.decode()
        assert "Server Administrator needs IMS Administrator" in page and 'name="step" value="confirm"' in page
    assert not Grant.objects.filter(group=viewers, policy=server).exists()
    done = browser.post(url, {"step": "confirm", "policies": [server.pk], "scope": "projects",
                              "projects": [north.pk], "duration": "", "expires": ""})
    assert done.status_code == 302
    assert Grant.objects.filter(group=viewers, policy=server).exists()


def test_a_review_address_whose_choices_do_not_hold_goes_back_to_the_choice(as_user):
    viewers = UserGroup.objects.get(name="viewers")
    response = as_user("admin").get(f"/iam/groups/{viewers.pk}/permissions/attach/?step=review&scope=projects")
    assert response.status_code == 422
    assert "Choose at least one role or policy." in response.content.decode()
