"""The datastream websocket, as the real web UI speaks it (LCOGT/ptr_ui `src/datastreamer/`).

The UI opens `wss://datastream.photonranch.org/dev?site={site}` (`openPrimaryConnection`), later
sends `{"action": "updatesubscribersite", "site": ...}` to switch site (`update_site`), and reads
messages `{"topic": ..., "data": ...}`; on `imagedata` it fetches `GET /image/{base_filename}`
when `data.s3_directory` is `data`, or reloads the info images for `info-images`
(`topic_handlers.js`, `new_data_stream_handler`). Ingestion sends one such message per file it
handled, as the real ingestion does (`send_to_datastream`, LCOGT/ptr_data). Here the socket is
served at `/datastream` and at `/dev`, so replacing the real URL's scheme and host is enough.

Anything the client sends other than a well-formed subscribe message is ignored, as a
websocket API route with no matching action would; a site that cannot name anything (see
`validate.path_param_problem`) closes the socket with 1008 (policy violation).
"""

from __future__ import annotations

import asyncio
import contextlib
import json

from starlette.websockets import WebSocket, WebSocketDisconnect

from send_test_images.localsite import validate
from send_test_images.localsite.web.context import context_of

SUBSCRIBE = "updatesubscribersite"
POLICY_VIOLATION = 1008


def _site_problem(site: object) -> bool:
    return not isinstance(site, str) or validate.path_param_problem("site", site) is not None


async def datastream(websocket: WebSocket) -> None:
    site = websocket.query_params.get("site", "")
    stream = context_of(websocket).stream
    await websocket.accept()
    if stream is None or _site_problem(site):
        await websocket.close(POLICY_VIOLATION)
        return
    subscriber = stream.subscribe(site)

    async def listen() -> None:
        while True:
            raw = await websocket.receive_text()
            with contextlib.suppress(ValueError, RecursionError):
                message = json.loads(raw)
                if isinstance(message, dict) and message.get("action") == SUBSCRIBE \
                        and not _site_problem(message.get("site")):
                    subscriber.site = message["site"]

    async def forward() -> None:
        while True:
            await websocket.send_text(json.dumps(await subscriber.queue.get()))

    tasks = [asyncio.create_task(listen()), asyncio.create_task(forward())]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect, RuntimeError):
                await task
        stream.unsubscribe(subscriber)
