import pytest

# The helpers in tests/support/ assert too (Client.register checks its 201): rewritten like
# a test's asserts, a failing one shows the values. It must be said before they are imported.
pytest.register_assert_rewrite("tests.support")
