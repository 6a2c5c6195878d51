"""python -m privacy: run the privacy service, or one of its tools (see privacy.tools)."""

from privacy import policy_cli
from privacy.app import NAME, create_app
from privacy.settings import PrivacySettings
from privacy.tools import TOOLS
from servicekit.cli import service_main

if __name__ == "__main__":
    policy_cli.dispatch()
    service_main(NAME, PrivacySettings, create_app, tools=TOOLS)
