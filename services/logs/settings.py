"""Settings of the logs service."""

from servicekit.settings import ServiceSettings


class LogsSettings(ServiceSettings):
    """The logs service needs nothing beyond the common settings yet."""
