"""python -m privacy: run the privacy service, one of its tools (see privacy.tools), or a
command on its requests (see privacy.ctl)."""

from privacy import ctl, policy_cli, reapply_cli
from privacy.app import NAME, create_app
from privacy.settings import PrivacySettings
from privacy.tools import TOOLS
from servicekit.cli import service_main

if __name__ == "__main__":
    ctl.dispatch()
    policy_cli.dispatch()
    reapply_cli.dispatch()
    service_main(NAME, PrivacySettings, create_app, tools=TOOLS)
