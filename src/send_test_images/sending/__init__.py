"""Send a run: reserve numbers, journal, generate in processes, upload in threads, report.

`run.py` owns a run (`send_new` for `up`, `resume` for `resume`) and tells its caller what
happens through typed events (`events.py`), never by printing; docs/sending-layout.md lists
which module answers which question.
"""
