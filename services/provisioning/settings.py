"""Settings of the provisioning service."""

from servicekit.settings import ServiceSettings


class ProvisioningSettings(ServiceSettings):
    """Provisioning needs nothing beyond the common settings yet."""
