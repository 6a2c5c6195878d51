"""python -m gateway: run the partners' API."""

from gateway.app import NAME, create_app
from gateway.settings import GatewaySettings
from servicekit.cli import service_main

if __name__ == "__main__":
    service_main(NAME, GatewaySettings, create_app)
