"""Checks the repository runs on its own code; not part of the installed package."""
