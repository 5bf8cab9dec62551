"""Distributed load with Locust: many simulated site cameras sending through the upload path.

`up` is one sender on one machine. For "fifty observatories with several cameras each, for an
hour" this package plugs into Locust, the established distributed load engine (a master and
workers over the network, a live web UI, CSV/HTML reports, headless mode for CI):

    names.py       who is each simulated camera? (site and instrument from run tag, worker, user)
    pool.py        cheap exposures: a few frames drawn once, then only names and headers stamped
    camera.py      one site camera: its numbers, its cadence, its next exposure's files
    ledger.py      what was reserved, sent and reported (the loss-free promise, counted)
    options.py     the load options, typed and checked once (Locust hands them over as text)
    locustfile.py  the Locust user class and event hooks: the only module that imports locust

Only `locustfile.py` imports Locust (and so gevent's monkey-patching): everything else is plain
Python that the tests and the benchmark use without it, and `send-test-images -h` never imports
this package at all.
"""

from pathlib import Path

LOCUSTFILE = Path(__file__).with_name("locustfile.py")
"""What `send-test-images load` hands to `locust -f` (importing it here would import Locust)."""
