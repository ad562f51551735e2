"""The settings' one error.

``SettingsError`` (a ValueError): a variable has a value the process cannot start with. Its
message is one line naming the variable, what it must be and, unless the variable holds a secret,
the value given::

    CONTACT_ATTEMPTS must be an integer from 1 to 10 (got '11')
"""

from __future__ import annotations


class SettingsError(ValueError):
    """A setting has a value the process cannot start with; the message names the variable."""
