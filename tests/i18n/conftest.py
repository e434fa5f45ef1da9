"""The language each i18n test leaves behind."""

import pytest
from django.utils import translation


@pytest.fixture(autouse=True)
def _language_restored():
    """A Chinese request leaves its language active in the thread: later tests must not read Chinese."""
    language = translation.get_language()
    yield
    translation.activate(language) if language else translation.deactivate()
