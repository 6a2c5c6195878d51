"""Errors of the partners' API, always `application/problem+json` with a stable code."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import structlog
from aiohttp import web
from pydantic import ValidationError

from gateway.schemas import FieldError, Problem
from servicekit.errors import RemoteCallError
from servicekit.http import REQUEST_ID

PROBLEM_JSON = "application/problem+json"

log = structlog.get_logger("gateway")


class ApiError(Exception):
    """An error the API answers with: HTTP status, stable code, human detail."""

    def __init__(
        self,
        status: int,
        code: str,
        title: str,
        detail: str | None = None,
        errors: list[FieldError] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail or title)
        self.status = status
        self.code = code
        self.title = title
        self.detail = detail
        self.errors = errors
        self.headers = headers or {}


REMOTE_STATUS = {
    "not_found": (404, "Not found"),
    "forbidden": (403, "Forbidden"),
    "conflict": (409, "Conflict"),
    # The person concerned restricted the processing of their data: the request is well formed
    # but the state of the data forbids it, as with any other conflict.
    "restricted": (409, "Processing restricted"),
    "invalid_request": (422, "Invalid request"),
    "insufficient_funds": (402, "Insufficient funds"),
    "invalid_api_key": (401, "Invalid API key"),
    "invalid_session": (401, "Invalid session"),
    "unknown_package": (422, "Unknown package"),
    "package_unavailable": (422, "Package not for sale"),
    "price_above_maximum": (422, "Price above your maximum"),
    "idempotency_conflict": (409, "Idempotency key reused"),
    "idempotency_in_progress": (409, "Request in progress"),
    "esim_expired": (409, "eSIM expired"),
    "unavailable": (503, "Service unavailable"),
    "timeout": (504, "Upstream timeout"),
}
"""Error codes of the services behind the gateway, and the status each is answered with.
Any other code is a 502 `upstream_error` whose detail is not shown."""


def from_remote(error: RemoteCallError) -> ApiError:
    """Translate a service's error into the API's."""
    status, title = REMOTE_STATUS.get(error.code, (502, "Upstream error"))
    code = error.code if error.code in REMOTE_STATUS else "upstream_error"
    detail = error.message if status < 500 else None
    return ApiError(status, code, title, detail)


def from_validation(error: ValidationError, where: str) -> ApiError:
    """A 422 listing each invalid field, never echoing the input."""
    errors = [
        FieldError(field=".".join(str(part) for part in item["loc"]) or where, message=item["msg"])
        for item in error.errors(include_input=False, include_url=False)
    ]
    return ApiError(
        422, "validation_failed", "The request is not valid", f"invalid {where}", errors
    )


def problem_response(error: ApiError, request_id: str) -> web.Response:
    """Render an ApiError."""
    problem = Problem(
        type=f"urn:esim:problem:{error.code}",
        title=error.title,
        status=error.status,
        code=error.code,
        detail=error.detail,
        request_id=request_id,
        errors=error.errors,
    )
    response = web.Response(
        status=error.status,
        body=problem.model_dump_json(exclude_none=True),
        content_type=PROBLEM_JSON,
    )
    if error.status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="esim"'
    response.headers.update(error.headers)
    return response


HTTP_CODES = {
    404: ("not_found", "Not found"),
    405: ("method_not_allowed", "Method not allowed"),
    413: ("payload_too_large", "Payload too large"),
}


@web.middleware
async def problems(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Every error becomes a problem document; nothing leaks a stack trace."""
    request_id = request.get(REQUEST_ID, "")
    try:
        return await handler(request)
    except ApiError as error:
        return problem_response(error, request_id)
    except web.HTTPException as http_error:
        if http_error.status < 400:
            raise
        code, title = HTTP_CODES.get(http_error.status, ("http_error", http_error.reason))
        response = problem_response(ApiError(http_error.status, code, title), request_id)
        if "Allow" in http_error.headers:  # a 405 must say which methods the path serves
            response.headers["Allow"] = http_error.headers["Allow"]
        return response
    except Exception:
        log.exception("unhandled_error", path=request.path)
        return problem_response(ApiError(500, "internal", "Internal error"), request_id)
