"""Settings of the accounts service."""

from pydantic import SecretStr

from servicekit.settings import ServiceSettings


class AccountsSettings(ServiceSettings):
    """Accounts adds the API-key pepper: a server-side secret, never stored with the keys."""

    api_key_pepper: SecretStr
    demo_api_key: SecretStr | None = None
