"""Errors that cross service boundaries with a stable machine code."""

from __future__ import annotations


class ServiceError(Exception):
    """A failure a handler reports on purpose: a stable code and a message free of secrets."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class RemoteCallError(ServiceError):
    """A request/reply call that the remote service answered with an error."""


class RequestTimeout(RemoteCallError):
    """Nobody answered a request/reply call in time."""

    def __init__(self, message: str) -> None:
        super().__init__("timeout", message)


class PublishFailed(Exception):
    """The broker did not confirm a publish (nacked, unroutable or the connection dropped)."""
