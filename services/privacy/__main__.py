"""python -m privacy: run the privacy service."""

from privacy.app import NAME, create_app
from privacy.settings import PrivacySettings
from servicekit.cli import service_main

if __name__ == "__main__":
    service_main(NAME, PrivacySettings, create_app)
