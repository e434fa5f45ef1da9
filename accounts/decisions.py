"""A stored user's decisions as JSON: the one shape `manage.py iam_simulate --user` prints and
`POST /api/v1/authorize` answers, built here once so the two cannot drift apart."""

from __future__ import annotations

from . import authz


def authorization_without_request(user) -> authz.Authorization:
    """The user's decisions with no HTTP request behind them (no g:SourceIp, no MFA session), as a
    command makes them: a caller supplies such keys in a request's context instead. The compiled
    grants are the process's cached ones (they do not depend on the request)."""
    return authz.Authorization(authz.authorization_for(user).grants)


def decision_json(authorization: authz.Authorization, action: str, *, project=None, image=None,
                  context: dict | None = None) -> dict:
    """One decision: outcome, explanation, the deciding statements (numbered from 1, as the explanation
    says "Statement 1") and the condition keys it lacked."""
    explanation = authorization.decide(action, project, image, context or None)
    project_name = getattr(project, "name", project) or (image.project.name if image is not None else None)
    return {
        "action": action,
        "project": project_name,
        "image": str(image.pk) if image is not None else None,
        "decision": explanation.outcome,
        "explanation": explanation.english_summary,  # JSON is API: English whatever the request's language
        "matched": [{"group": r.group_name, "grant": r.grant_id, "policy": r.policy_name,
                     "statement": None if r.statement_index is None else r.statement_index + 1,
                     "effect": r.effect, "scope": r.scope}
                    for r in explanation.reasons],
        "missing_keys": sorted(explanation.missing_keys),
    }
