"""User-facing errors: the CLI prints their message (no traceback) and exits non-zero."""


class DpbenchError(Exception):
    """An error caused by input or environment that the user can fix; the message says how."""

    exit_code = 2


class RecipeError(DpbenchError):
    """A recipe file or override is invalid (the message names the field and allowed values)."""


class DataError(DpbenchError):
    """Raw or benchmark data is unusable (the message names file, line and field)."""


class BackendError(DpbenchError):
    """A model backend cannot be used (unreachable server, auth failure, missing model)."""
