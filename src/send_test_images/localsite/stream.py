"""The datastream: who hears about a newly ingested file, across the thread boundary.

Ingestion runs in its own thread; websocket subscribers live on the server's event loop. The real
service sends one `imagedata` message per ingested file through an SQS queue to its datastream
service (`send_to_datastream`, LCOGT/ptr_data `lambda_service/datastreamer.py`), which pushes it
to every websocket subscribed to that site. `DataStream` is that queue and fan-out in one object:
`publish` is called from any thread, each subscriber receives on its own asyncio queue.
"""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass, field
from typing import Any

IMAGEDATA = "imagedata"
MAX_QUEUED = 1000
"""Messages kept for one slow subscriber; beyond this its oldest news is dropped, not the site."""


@dataclass(eq=False)
class Subscriber:
    """One websocket: the site it listens to (it may change it) and its own queue."""

    site: str
    loop: asyncio.AbstractEventLoop
    queue: asyncio.Queue[dict[str, Any]] = field(default_factory=lambda: asyncio.Queue(MAX_QUEUED))


class DataStream:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subscribers: set[Subscriber] = set()

    def subscribe(self, site: str) -> Subscriber:
        """Called on the event loop that will read the subscriber's queue."""
        subscriber = Subscriber(site, asyncio.get_running_loop())
        with self._lock:
            self._subscribers.add(subscriber)
        return subscriber

    def unsubscribe(self, subscriber: Subscriber) -> None:
        with self._lock:
            self._subscribers.discard(subscriber)

    def publish(self, site: str, data: dict[str, Any]) -> None:
        """Send `{"topic": "imagedata", "site", "data"}` to every subscriber of `site`."""
        message = {"topic": IMAGEDATA, "site": site, "data": data}
        with self._lock:
            listening = [s for s in self._subscribers if s.site == site]
        for subscriber in listening:
            try:
                subscriber.loop.call_soon_threadsafe(_offer, subscriber.queue, message)
            except RuntimeError:  # its loop has closed: the socket is gone
                self.unsubscribe(subscriber)


def _offer(queue: asyncio.Queue[dict[str, Any]], message: dict[str, Any]) -> None:
    if queue.full():
        queue.get_nowait()
    queue.put_nowait(message)
