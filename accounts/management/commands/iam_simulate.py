"""The policy simulator: decide requests against policies, for people writing policies and their CI."""

import json
import sys

from django.apps import apps
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from accounts import decisions
from accounts.models import Project, User
from accounts.policy import ACTION_NAMES, SYSTEM_DOCUMENTS, compile_document, evaluate, validate_document

HELP_EPILOG = """
Each input line is one case (a pretty-printed single JSON object is accepted too). A policy is a
document, or the name of a system policy or role; each counts as granted where the request is made,
and the context is exactly what the request gives:

  {"policies": ["IMS FullAccess",
                {"Version": "1.1", "Statement": [{"Effect": "Deny", "Action": ["ims:images:delete"],
                  "Condition": {"StringEquals": {"ims:ResourceTag/env": ["prod"]}}}]}],
   "requests": [{"action": "ims:images:delete", "context": {"ims:ResourceTag/env": "prod"}}]}

Output, one line per case ("policy" indexes the case's list, "statement" the document's Statement):

  {"results": [{"action": "ims:images:delete", "decision": "explicit_deny",
                "matched": [{"policy": 1, "statement": 0}]}]}

A case with an invalid policy prints {"errors": [{"policy": 0, "path": "...", "message": "..."}]}
instead; the other cases are still answered and the command exits 2.

Example:
  echo '{"policies": ["IMS ReadOnlyAccess"], "requests": [{"action": "ims:images:list"}]}' \\
    | python manage.py iam_simulate

For a stored user (the JSON POST /api/v1/authorize answers; --image and --context optional):
  python manage.py iam_simulate --user developer --project cn-north-4_dev --action ims:images:delete \\
    --context '{"g:MFAPresent": true}'
"""

_SYSTEM_BY_NAME = {entry["name"].lower(): entry["document"] for entry in SYSTEM_DOCUMENTS}


def read_cases(text: str) -> list:
    """JSON Lines, or one (possibly pretty-printed) JSON object. Bad lines become error cases."""
    stripped = text.strip()
    if not stripped:
        return []
    try:
        return [json.loads(stripped)]
    except (ValueError, RecursionError):  # also a number too long or nesting too deep
        pass
    cases = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            cases.append(json.loads(line))
        except json.JSONDecodeError as error:
            cases.append(ValueError(f"line {number}: not JSON: {error.msg} at column {error.colno}"))
        except (ValueError, RecursionError) as error:
            cases.append(ValueError(f"line {number}: not usable JSON: {error}"))
    return cases


def simulate_case(case) -> tuple[dict, bool]:
    """Answer one case; returns the output object and whether it was valid."""
    if isinstance(case, ValueError):
        return {"errors": [{"policy": None, "path": "", "message": str(case)}]}, False
    if not isinstance(case, dict) or not isinstance(case.get("policies"), list) \
            or not isinstance(case.get("requests"), list):
        return {"errors": [{"policy": None, "path": "",
                            "message": 'a case is an object with lists "policies" and "requests"'}]}, False
    errors, compiled = _compiled_policies(case["policies"])
    results = []
    for number, request in enumerate(case["requests"]):
        error = _request_error(number, request)
        if error is not None:
            errors.append(error)
        if errors:  # every request is still checked, none decided
            continue
        decision = evaluate(compiled, request["action"], request.get("context", {}))
        results.append({"action": request["action"], "decision": decision.outcome,
                        "matched": [{"policy": p, "statement": s} for p, s in decision.matched]})
    if errors:
        return {"errors": errors}, False
    return {"results": results}, True


def _compiled_policies(policies: list) -> tuple[list[dict], list[tuple[int, object]]]:
    """The case's policies compiled, each a system policy's name or a document; the errors of the others."""
    errors, compiled = [], []
    for index, policy in enumerate(policies):
        if isinstance(policy, str):
            document = _SYSTEM_BY_NAME.get(policy.lower())
            if document is None:
                errors.append({"policy": index, "path": "", "message": f"no system policy or role named {policy!r}"})
                continue
            compiled.append((index, compile_document(document)))
            continue
        result = validate_document(policy)
        if not result.ok:
            errors.extend({"policy": index, "path": f.path, "message": f.message} for f in result.errors)
            continue
        compiled.append((index, compile_document(result.document)))
    return errors, compiled


def _request_error(number: int, request) -> dict | None:
    """What is wrong with one request (an unknown action, a context that is not an object), or None."""
    action = request.get("action") if isinstance(request, dict) else None
    context = request.get("context", {}) if isinstance(request, dict) else None
    if not isinstance(action, str) or action not in ACTION_NAMES:
        return {"policy": None, "path": f"requests[{number}].action", "message": f"unknown action {action!r}"}
    if not isinstance(context, dict):
        return {"policy": None, "path": f"requests[{number}].context", "message": "context is an object"}
    return None


class Command(BaseCommand):
    help = "Decide requests against policies (JSON Lines on stdin), or for a stored user."

    def create_parser(self, prog_name, subcommand, **kwargs):
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        parser.epilog = HELP_EPILOG
        from argparse import RawDescriptionHelpFormatter

        parser.formatter_class = RawDescriptionHelpFormatter
        return parser

    def add_arguments(self, parser):
        parser.add_argument("--input", help="read cases from this file instead of stdin")
        parser.add_argument("--user", help="decide for this stored user instead of reading cases")
        parser.add_argument("--project", help="with --user: the project the requests are made in")
        parser.add_argument("--action", action="append", default=[], help="with --user: an action (repeatable)")
        parser.add_argument("--image", help="with --user: the id of the image the requests are about")
        parser.add_argument("--context", help="with --user: extra condition keys, a JSON object")

    def handle(self, *args, input=None, user=None, project=None, action=(), image=None, context=None,
               **options):
        if user:
            return self._for_user(user, project, action, image, context)
        if input:
            with open(input, encoding="utf-8") as handle:
                text = handle.read()
        else:
            text = sys.stdin.read()
        failed = False
        for case in read_cases(text):
            output, ok = simulate_case(case)
            failed = failed or not ok
            self.stdout.write(json.dumps(output))
        if failed:
            sys.exit(2)

    def _for_user(self, username, project_name, actions, image_id=None, context_text=None):
        if not actions:
            raise CommandError("Give at least one --action with --user.")
        unknown = [a for a in actions if a not in ACTION_NAMES]
        if unknown:
            raise CommandError(f"Unknown action(s): {', '.join(unknown)}")
        stored = User.objects.filter(username=username).first()
        if stored is None:
            raise CommandError(f"No user named {username!r}.")
        project = None
        if project_name:
            project = Project.objects.select_related("region").filter(name=project_name).first()
            if project is None:
                raise CommandError(f"No project named {project_name!r}.")
        image = _image(image_id) if image_id else None
        context = _context(context_text) if context_text else None
        authorization = decisions.authorization_without_request(stored)
        results = [decisions.decision_json(authorization, name, project=project, image=image, context=context)
                   for name in actions]
        self.stdout.write(json.dumps({"user": username, "results": results}))


def _image(image_id: str):
    """The image named by --image (the images app sits above accounts: looked up by its label)."""
    image_model = apps.get_model("images", "Image")
    try:
        image = image_model.objects.select_related("project__region").prefetch_related("tags").filter(
            pk=image_id).first()
    except ValidationError:
        image = None
    if image is None:
        raise CommandError(f"No image with id {image_id!r}.")
    return image


def _context(text: str) -> dict:
    try:
        context = json.loads(text)
    except ValueError as error:
        raise CommandError(f"--context is not JSON: {error}") from None
    if not isinstance(context, dict):
        raise CommandError("--context is a JSON object of condition keys and values.")
    return context
