"""The errors a user can fix (input, output, settings, engine, format, pipeline): the
command prints their message, with no traceback."""


class ExtractUsageError(Exception):
    """Base of the errors raised before anything is annotated; the message says what to do."""
