"""The local site's HTTP side: the route table (`app.py`), its handlers, checks and pages.

Only `site.py` builds the app (`web.app.make_app`); nothing outside `web/` depends on Starlette.
"""
