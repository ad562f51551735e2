"""The command-line client's tests drive a whole stack: the API tests' fixtures, shared."""

from tests.api.conftest import database_file, hubspot_is_sandbox, stack

__all__ = ["database_file", "hubspot_is_sandbox", "stack"]
