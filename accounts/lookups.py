"""`<integer>__in` that treats a value that cannot be in the column as matching nothing.

Django already does so for `exact` and the comparisons when an integer is outside the column's
range (an id of 23 digits simply names no row), but `in` passes such a value to the driver,
where SQLite's raises OverflowError, and raises ValueError for text that is no number at all.
Both were 500s: every form with a ModelMultipleChoiceField (attach, detach), and Django admin's
autocomplete widget, which looks up whatever was submitted when it redraws an invalid form.
Registered on IntegerField, so every integer and auto field (every id) gets it.
"""

from django.db.models import IntegerField
from django.db.models.lookups import In


@IntegerField.register_lookup
class IntegerFieldIn(In):
    def get_prep_lookup(self):
        if self.rhs_is_direct_value():
            self.rhs = [value for value in self.rhs if hasattr(value, "resolve_expression") or self._is_number(value)]
        return super().get_prep_lookup()

    def _is_number(self, value) -> bool:
        try:
            self.lhs.output_field.get_prep_value(value)
        except (TypeError, ValueError):
            return False
        return True

    def process_rhs(self, compiler, connection):
        if self.rhs_is_direct_value():
            low, high = connection.ops.integer_field_range(self.lhs.output_field.get_internal_type())
            self.rhs = [
                value for value in self.rhs
                if not isinstance(value, int) or ((low is None or value >= low) and (high is None or value <= high))
            ]
        return super().process_rhs(compiler, connection)
