"""Send a run: reserve numbers, journal, generate in processes, upload in threads, report.

`run.py` owns a run (`send_new` for `up`, `resume` for `resume`) and tells its caller what
happens through typed events (`events.py`), never by printing; docs/design.md lists which
module answers which question.

httpx imports its own command-line client (`httpx._main`: click, rich and pygments) whenever
they are installed, as they are with the test extra that `./dev` installs: ~35 ms of every
`up`'s start-up, for a command we never run. Marking that module absent here, before
`client.py` imports httpx, makes httpx do what it does when they are not installed (its
`httpx.main` then says how to get them); nothing else of httpx changes.
"""

import sys

sys.modules.setdefault("httpx._main", None)  # type: ignore[assignment]
