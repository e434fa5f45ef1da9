"""g:SourceIp and the sign-in lockout see the real client, and nobody can choose theirs by a header."""

import json

import pytest
from django.test import RequestFactory, override_settings

from accounts.client_address import client_address

OFFICE_ONLY = {"Version": "1.1", "Statement": [{"Effect": "Allow", "Action": ["ims:images:list"],
                                                "Condition": {"IpAddress": {"g:SourceIp": ["10.0.0.0/8"]}}}]}


def request_from(remote, forwarded=None):
    headers = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded is not None else {}
    return RequestFactory().get("/", REMOTE_ADDR=remote, **headers)


def test_without_trusted_proxies_the_header_is_ignored():
    assert client_address(request_from("203.0.113.5", "10.1.2.3")) == "203.0.113.5"


@override_settings(IMSPERM_TRUSTED_PROXIES=["127.0.0.1/32", "192.168.0.0/16"])
@pytest.mark.parametrize(("remote", "forwarded", "client"), [
    ("127.0.0.1", "198.51.100.7", "198.51.100.7"),  # one proxy
    ("127.0.0.1", "198.51.100.7, 192.168.1.2", "198.51.100.7"),  # two trusted hops
    ("127.0.0.1", "10.9.9.9, 198.51.100.7", "198.51.100.7"),  # a typed-in first hop is not believed
    ("127.0.0.1", "not-an-address", "127.0.0.1"),  # malformed: the connection's address
    ("127.0.0.1", "", "127.0.0.1"),
    ("203.0.113.5", "10.1.2.3", "203.0.113.5"),  # not from a trusted proxy: the header is the client's own
])
def test_a_trusted_proxy_is_believed_only_as_far_as_it_goes(remote, forwarded, client):
    assert client_address(request_from(remote, forwarded)) == client


def test_an_office_only_policy_sees_the_client_not_a_typed_header(demo, as_user):
    browser = as_user("iam-admin")
    query = {"subject": "document", "document": json.dumps(OFFICE_ONLY), "actions": "ims:images:list",
             "project": "cn-north-4"}
    spoofed = browser.get("/iam/simulator/", query, REMOTE_ADDR="203.0.113.5", HTTP_X_FORWARDED_FOR="10.1.2.3")
    assert "Allowed by the pasted policy" not in spoofed.content.decode()
    with override_settings(IMSPERM_TRUSTED_PROXIES=["127.0.0.1/32"]):
        proxied = browser.get("/iam/simulator/", query, REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="10.1.2.3")
    assert "Allowed by the pasted policy" in proxied.content.decode()
