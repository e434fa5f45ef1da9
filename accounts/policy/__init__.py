"""The policy language of the console's IAM: catalogue, validator and evaluator.

Pure Python on purpose (no Django, nothing outside the stdlib): it sits at the bottom of the
architecture, so models, services and pages above it can all rely on one definition of what
a policy means, and it can be tested in isolation.
"""

from .catalogue import (
    ACTION_NAMES,
    ACTIONS,
    IAM_ACTIONS,
    IMS_ACTIONS,
    SERVICES,
    SYSTEM_DOCUMENTS,
    Action,
    get_action,
    lookup_condition_key,
    names_global_services_only,
)
from .evaluator import (
    ActionTable,
    CompiledPolicy,
    Decision,
    RowDecider,
    RowKeys,
    compile_document,
    evaluate,
    lower_keys,
    strongest,
)
from .validator import (
    Finding,
    ValidationResult,
    expand_pattern,
    validate_document,
    validate_text,
)

__all__ = [
    "ACTIONS",
    "ACTION_NAMES",
    "IAM_ACTIONS",
    "IMS_ACTIONS",
    "SERVICES",
    "SYSTEM_DOCUMENTS",
    "Action",
    "ActionTable",
    "CompiledPolicy",
    "Decision",
    "Finding",
    "RowDecider",
    "RowKeys",
    "ValidationResult",
    "compile_document",
    "evaluate",
    "expand_pattern",
    "get_action",
    "lookup_condition_key",
    "lower_keys",
    "names_global_services_only",
    "strongest",
    "validate_document",
    "validate_text",
]
