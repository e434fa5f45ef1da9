"""IAM as code: export the account's IAM configuration as one document, plan a file against it, apply it.

- document.py: the file's model, JSON Schema, canonical text and JSON paths;
- export.py: the stored configuration as a document, and who may read it whole;
- plan.py: the differences as readable changes and service steps, tried and rolled back;
- apply.py: the steps in one transaction, audited as one import;
- limits.py: what the console's import accepts (bytes, entries) and who may ask it to do any work.

Commands (iam_export, iam_apply) and the console's Configuration page only call these.
"""

from .apply import IMPORT_EVENT, ApplyResult, StaleConfiguration, apply_configuration
from .document import DocumentError, digest, dumps, parse_text
from .export import EXPORT_ACTIONS, current_configuration, export_refusal, export_text
from .limits import json_schema
from .plan import Plan, build_plan, decisions, trial_plan

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
