"""Settings of the privacy service."""

from servicekit.settings import ServiceSettings


class PrivacySettings(ServiceSettings):
    """The privacy service needs nothing beyond the common settings yet."""
