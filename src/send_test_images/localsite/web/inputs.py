"""What a request carries, checked: the JSON body of /upload and /download, names in the path.

Each check either returns the value or raises `HTTPProblem` with the sentence from `validate`,
so a handler reads as the happy path. The status of each refusal is the contract's: a malformed
value is 400, an unknown directory is 403 with the real service's text.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request

from send_test_images.localsite import rules, validate
from send_test_images.localsite.web.problems import HTTPProblem, refuse

NOT_JSON = (
    "the request body must be a JSON object, e.g. "
    '{"object_name": "tst-inst-20261124-00000001-EX10.jpg"}'
)


async def json_body(request: Request) -> dict[str, Any]:
    """The body as a JSON object, whatever the content type says (sites send none)."""
    raw = await request.body()
    try:
        body = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise HTTPProblem(400, NOT_JSON) from None
    if not isinstance(body, dict):
        raise HTTPProblem(400, f"the request body must be a JSON object, not {type(body).__name__}")
    return body


async def name_and_directory(request: Request) -> tuple[dict[str, Any], str, str]:
    """The checks /upload and /download share: a JSON object, a safe name, a known directory."""
    body = await json_body(request)
    name = body.get("object_name")
    refuse(validate.object_name_problem(name))
    directory = body.get("s3_directory", rules.DEFAULT_S3_DIRECTORY)
    refuse(validate.directory_problem(directory), 403)
    return body, name, directory


def path_param(request: Request, name: str) -> str:
    """A site or base filename from the path, refused with 400 when it cannot name anything."""
    value: str = request.path_params[name]
    refuse(validate.path_param_problem(name, value))
    return value
