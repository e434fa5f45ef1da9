"""`<integer>__in` that treats a value outside the column's range as matching nothing.

Django already does so for `exact` and the comparisons (an id of 23 digits simply names no row);
`in` passes such a value on to the driver, where SQLite's raises OverflowError: a 500 for every
form with a ModelMultipleChoiceField (attach, detach, admin's many-to-many fields). Registered on
IntegerField, so every integer and auto field (every id) gets it.
"""

from django.db.models import IntegerField
from django.db.models.lookups import In


@IntegerField.register_lookup
class IntegerFieldIn(In):
    def process_rhs(self, compiler, connection):
        if self.rhs_is_direct_value():
            low, high = connection.ops.integer_field_range(self.lhs.output_field.get_internal_type())
            self.rhs = [
                value for value in self.rhs
                if not isinstance(value, int) or ((low is None or value >= low) and (high is None or value <= high))
            ]
        return super().process_rhs(compiler, connection)
