"""The one error type of the development stack."""


class DevstackError(RuntimeError):
    """A part of the development stack is missing or failed; the message says what to do."""
