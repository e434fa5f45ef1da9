"""A real OpenID Connect provider for the federation tests (issue 20): django-oauth-toolkit in OIDC
mode, run as its own process on loopback (tests/federation/conftest.py starts it; so does CI).

`serve.py --port P --state-dir D` generates an RS256 key, creates its tables, and serves:
discovery at /o/.well-known/openid-configuration, the JWKS, authorize (PKCE required), token,
userinfo, and a sign-in page. People and their claims are read from D/users.json at every request,
so a test changes a claim by rewriting the file (a person's "id_token" claims, such as `amr` and
`auth_time_ago`, go in the ID token only; their "userinfo" claims in the userinfo answer only);
D/behaviour.json makes the provider misbehave on purpose (an ID token for another audience, expired,
unsigned, signed with a foreign key, from another issuer). Clients are registered by POST
/control/clients with the control token.
"""
