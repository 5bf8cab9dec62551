"""The local site's HTTP side: the route table (`app.py`), its handlers, checks and pages.

Nothing outside `web/` imports from here except `site.py`, which builds the app with `make_app`.
"""
