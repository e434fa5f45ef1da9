"""Every value a cached `{% chrome %}` block reads is one of its inputs (accounts/templatetags/chrome.py).

A block is drawn once per process for each value of the inputs it names and shown to everyone with those
values: a variable read inside it but not named would show the first reader's value to every later one (a
person's name, a filter, a decision). This reads the templates themselves, includes followed, so that a
variable added to a block without being added to its inputs fails here, before any page is drawn wrong."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings
from django.template import Template, Variable
from django.template.base import FilterExpression, Node, NodeList, VariableNode
from django.template.loader import get_template
from django.template.loader_tags import IncludeNode

from accounts.templatetags.chrome import ChromeNode

# Filled in on every request (the block's slots: the user's name since 027d5e9), or bound to the language
# and script prefix in its key.
PER_REQUEST = {"csrf_token", "csp_nonce", "request.path", "user.username"}
# Tags whose Python reads the context: each reads only what the named input already decides.
TRUSTED_TAGS = {
    # shows the badge's slot when `access_request_badge_shown` is true: the block's `badge_shown` input
    "access_request_badge",
    # django-htmx's script tags read the CSP nonce alone: a slot, filled in on every request
    "htmx_script", "django_htmx_script",
}
TEMPLATE_FOLDERS = [Path(folder) for engine in settings.TEMPLATES for folder in engine.get("DIRS", [])]


def _expressions(node: Node):
    """The FilterExpressions a node holds, in any attribute (conditions, arguments, sequences)."""
    def walk(value):
        if isinstance(value, FilterExpression):
            yield value
        elif isinstance(value, (list, tuple, set)):
            for item in value:
                yield from walk(item)
        elif isinstance(value, dict):
            for item in value.values():
                yield from walk(item)
        elif hasattr(value, "value") and isinstance(getattr(value, "value", None), FilterExpression):
            yield value.value  # an {% if %} condition's operand
        elif hasattr(value, "first") and hasattr(value, "second"):  # an {% if %} operator
            yield from walk([value.first, value.second])

    for name, value in vars(node).items():
        if name not in ("nodelist", "origin", "token") and not isinstance(value, NodeList):
            yield from walk(value)


def _lookups(expression: FilterExpression):
    """The variables an expression reads: its own and its filters' arguments."""
    if isinstance(expression.var, Variable) and expression.var.lookups:
        yield ".".join(expression.var.lookups)
    for _filter, arguments in expression.filters:
        for is_variable, argument in arguments:
            if is_variable and isinstance(argument, Variable) and argument.lookups:
                yield ".".join(argument.lookups)


def _bound_names(node: Node) -> set[str]:
    """Names a tag binds for what follows it inside the block ({% for x in %}, {% … as x %}, {% with %})."""
    names = set(getattr(node, "loopvars", ()))
    for attribute in ("target_var", "variable", "asvar", "var_name"):
        if isinstance(getattr(node, attribute, None), str):
            names.add(getattr(node, attribute))
    names.update(getattr(node, "extra_context", {}) or {})
    return names


def reads_outside_inputs(chrome: ChromeNode) -> list[str]:
    """What the block reads that is neither an input, nor a slot, nor a name bound inside it."""
    inputs = {lookup for expression in chrome.inputs for lookup in _lookups(expression)}
    found, bound = [], {"forloop"}

    def allowed(lookup: str) -> bool:
        return (lookup in PER_REQUEST or lookup.split(".")[0] in bound
                or any(lookup == name or lookup.startswith(name + ".") for name in inputs))

    def visit(nodelist, where: str):
        for node in nodelist:
            bound.update(_bound_names(node))
            if type(node).__name__ in ("InclusionNode", "SimpleNode") and node.func.__name__ not in TRUSTED_TAGS \
                    and getattr(node, "takes_context", False):
                found.append(f"{where}: the tag {node.func.__name__} reads the context")
            for expression in _expressions(node):
                found.extend(f"{where}: {lookup}" for lookup in _lookups(expression) if not allowed(lookup))
                # A slot holds a stand-in when the block is drawn: printed as it is, it is replaced by the
                # request's value; through a filter or in a tag's test it would act on the stand-in.
                plainly_printed = isinstance(node, VariableNode) and not expression.filters
                found.extend(f"{where}: {lookup} (a per-request value) used other than printed as it is"
                             for lookup in _lookups(expression) if lookup in PER_REQUEST and not plainly_printed)
            if isinstance(node, IncludeNode):
                name = node.template.var
                if not isinstance(name, str):
                    found.append(f"{where}: an include of a template named by a variable")
                else:
                    visit(get_template(name).template.nodelist, name)
            for attribute in getattr(node, "child_nodelists", ()):
                visit(getattr(node, attribute, None) or [], where)
            if hasattr(node, "conditions_nodelists"):  # {% if %}'s branches
                for _condition, branch in node.conditions_nodelists:
                    visit(branch, where)

    visit(chrome.nodelist, "block")
    return found


def chrome_blocks(nodelist, where: str):
    for node in nodelist:
        if isinstance(node, ChromeNode):
            yield where, node
        for attribute in getattr(node, "child_nodelists", ()):
            yield from chrome_blocks(getattr(node, attribute, None) or [], where)
        if hasattr(node, "conditions_nodelists"):
            for _condition, branch in node.conditions_nodelists:
                yield from chrome_blocks(branch, where)


def templates_with_chrome() -> list[str]:
    return sorted(str(path.relative_to(folder)) for folder in TEMPLATE_FOLDERS for path in folder.rglob("*.html")
                  if "{% chrome" in path.read_text())


def test_the_templates_with_chrome_blocks_are_found():
    assert {"base.html", "images/list.html"} <= set(templates_with_chrome())


@pytest.mark.parametrize("name", templates_with_chrome())
def test_every_value_a_chrome_block_reads_is_one_of_its_inputs(name):
    blocks = list(chrome_blocks(get_template(name).template.nodelist, name))
    assert blocks
    for where, block in blocks:
        assert reads_outside_inputs(block) == [], where


@pytest.mark.parametrize(("source", "unnamed"), [
    ("{% chrome user.username %}{{ user.email }}{% endchrome %}", "block: user.email"),
    ("{% chrome query.tab %}{% if query.q %}x{% endif %}{% endchrome %}", "block: query.q"),
    ("{% chrome tabs %}{% for key, label in tabs %}{{ label|default:other }}{% endfor %}{% endchrome %}",
     "block: other"),
    ("{% chrome user.username %}<a href=\"{% url 'images:list' %}?q={{ request.GET.q }}\">{% endchrome %}",
     "block: request.GET.q"),
    ("{% chrome user.is_authenticated %}{{ user.username|upper }}{% endchrome %}",
     "block: user.username (a per-request value) used other than printed as it is"),
    ("{% chrome tabs %}{% if request.path == '/images/' %}x{% endif %}{% endchrome %}",
     "block: request.path (a per-request value) used other than printed as it is"),
])
def test_a_value_read_but_not_named_is_found(source, unnamed):
    """The check itself: a block that reads what its key does not name is reported (and only that)."""
    block = next(node for _, node in chrome_blocks(Template("{% load chrome %}" + source).nodelist, "block"))
    assert reads_outside_inputs(block) == [unnamed]
