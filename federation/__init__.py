"""OpenID Connect federation (issue 20): identity providers managed in IAM, mapping rules from a
provider's claims into user groups, and "Sign in with <provider>" through Authlib's Django client."""
