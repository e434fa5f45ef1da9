"""Running a plan's steps in order, each refusal turned into the JSON path it answers for.

The trial and the apply both run the steps here, inside their own transaction: a service's
refusal (validation, permission, a policy document, a name another step removed) stops the run
as `StepFailed`, located in the file.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError

from accounts import authz
from accounts.models import Policy, Project, Region, User, UserGroup
from accounts.services.policies import PolicyDocumentError
from federation.iac import LocatedError

from .plan import Plan


class StepFailed(Exception):
    """A service refused a step: where in the file, why, and the service's exception."""

    def __init__(self, path: str, message: str, error: Exception):
        super().__init__(f"{path}: {message}")
        self.path, self.message, self.error = path, message, error


def _message(error: Exception) -> str:
    if isinstance(error, ValidationError):
        return " ".join(error.messages)
    return str(error) or "Refused."


def run_steps(plan: Plan, actor) -> list:
    """Run the plan's steps in order (inside the caller's transaction); StepFailed at the first refusal.

    The actor's permissions are read afresh before each step, as they would be for the same
    changes made one by one in the console.
    """
    results = []
    for step in plan.ordered_steps():
        if actor is not None:
            authz.forget(actor)
        try:
            results.append(step.run(actor))
        except PolicyDocumentError as error:
            raise StepFailed(f"{step.path}.document", _message(error), error) from error
        except LocatedError as error:
            path, message = error.errors[0]
            raise StepFailed(path, message, error.refused or error) from error
        except (ValidationError, PermissionDenied) as error:
            raise StepFailed(step.path, _message(error), error) from error
        except (User.DoesNotExist, UserGroup.DoesNotExist, Policy.DoesNotExist, Region.DoesNotExist,
                Project.DoesNotExist) as error:
            raise StepFailed(step.path, "It names something another change removed or never created.",
                             error) from error
    if actor is not None:
        authz.forget(actor)
    return results
