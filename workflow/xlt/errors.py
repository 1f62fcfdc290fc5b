"""The base of xlt's own errors: each message says what is wrong and where (config key, file, row), so the CLI
prints it as one line instead of a traceback."""

from __future__ import annotations


class XltError(Exception):
    """An error whose message is meant for the user as it is."""
