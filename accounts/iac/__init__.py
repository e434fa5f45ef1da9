"""IAM as code: export the account's IAM configuration as one document, plan a file against it, apply it.

- document.py: the file's model, JSON Schema, canonical text and JSON paths;
- export.py: the stored configuration as a document, and who may read it whole;
- plan.py: the plan as data (changes, steps, effects); planning.py builds it (checks.py, state.py, scopes.py,
  grant_planning.py); trial.py tries it, rolled back (steps.py runs the steps, effects.py compares decisions);
- apply.py: the steps in one transaction, audited as one import;
- limits.py: what the console's import accepts (bytes, entries) and who may ask it to do any work.

Commands (iam_export, iam_apply) and the console's Configuration page only call these.
"""

from .apply import IMPORT_EVENT, ApplyResult, StaleConfiguration, apply_configuration
from .document import DocumentError, digest, dumps, parse_text
from .effects import decisions
from .export import EXPORT_ACTIONS, current_configuration, export_refusal, export_text
from .limits import json_schema
from .plan import Plan
from .planning import build_plan
from .trial import trial_plan

__all__ = [
    "EXPORT_ACTIONS",
    "IMPORT_EVENT",
    "ApplyResult",
    "DocumentError",
    "Plan",
    "StaleConfiguration",
    "apply_configuration",
    "build_plan",
    "current_configuration",
    "decisions",
    "digest",
    "dumps",
    "export_refusal",
    "export_text",
    "json_schema",
    "parse_text",
    "trial_plan",
]
