"""How a stored value becomes a JSON answer: always valid JSON, whatever the database holds.

Starlette's `JSONResponse` refuses NaN and Infinity (strict JSON, which browsers and most
clients require), and a refusal there used to turn one bad row into a 502 for every listing of
its site. Ingestion no longer stores non-finite numbers (`headertext.to_float`), but a data dir
outlives the code that filled it, so the answer side also never fails on one: a non-finite float
is answered as null, the same as a value that is not there.
"""

from __future__ import annotations

import math
from typing import Any

from starlette.responses import JSONResponse


def finite(value: Any) -> Any:
    """`value` with every NaN or infinite float (at any depth) replaced by None."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [finite(item) for item in value]
    return value


class FiniteJSONResponse(JSONResponse):
    """A `JSONResponse` that answers non-finite floats as null instead of failing.

    The common case (everything finite) costs one `json.dumps`, as before; only a body that
    holds a non-finite float is walked and encoded again.
    """

    def render(self, content: Any) -> bytes:
        try:
            return super().render(content)
        except ValueError:
            return super().render(finite(content))

