"""How a refusal reaches the client: raise `HTTPProblem` anywhere, answer plain text in one place.

The real service refuses with a plain-text body (protocol §1), and every local check answers the
same way, so a handler only says what is wrong and with which status; `make_app` registers
`problem_response` once for all of them. An unexpected exception gets what the real API Gateway
answers when its handler fails (502 with a JSON message), which the fuzz tests keep unused.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from send_test_images.localsite.db import RETRY_AFTER_S, DatabaseUnavailable

PLAIN = "text/plain; charset=utf-8"


class HTTPProblem(Exception):
    """A request the site refuses: `status` and the one sentence the client reads."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(status, message)
        self.status = status
        self.message = message


NO_BODY = 204
"""HTTP forbids a body on 204. The real handlers return one (`No info image for site …`), which
API Gateway drops on the wire; sending it made uvicorn's h11 abort the connection mid-answer."""


def text(status: int, message: str) -> PlainTextResponse:
    """A plain-text answer with an explicit charset, as every refusal and the download URL are.

    A 204 keeps its content type but goes without its text, as the real answer arrives."""
    return PlainTextResponse("" if status == NO_BODY else message, status_code=status, media_type=PLAIN)


def refuse(problem: str | None, status: int = 400) -> None:
    """Raise `problem` (a sentence from `validate`) as `status`; None means the input is fine."""
    if problem:
        raise HTTPProblem(status, problem)


async def problem_response(request: Request, exc: HTTPProblem) -> Response:
    """The one place an `HTTPProblem` becomes a response."""
    return text(exc.status, exc.message)


GATEWAY_ERROR = {"message": "Internal server error"}
"""API Gateway's answer when a Lambda handler raises: the real service's every unhandled failure."""


def internal_error_response(exc: Exception | None = None) -> Response:
    """What the real API Gateway answers when its handler fails."""
    return JSONResponse(GATEWAY_ERROR, status_code=502)


async def internal_error(request: Request, exc: Exception) -> Response:
    """What the real API Gateway answers when its handler fails."""
    return internal_error_response(exc)


async def database_unavailable(request: Request, exc: DatabaseUnavailable) -> Response:
    """An external database that stopped answering is the site's outage, not the client's fault
    nor a bug: 503 with the one-line reason and a Retry-After, so clients with retries (ours,
    boto3, browsers) try again instead of giving up on a 5xx of the site's own making."""
    answer = text(503, str(exc))
    answer.headers["Retry-After"] = str(RETRY_AFTER_S)
    return answer
