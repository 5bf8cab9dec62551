"""The other Photon Ranch services the real web UI calls on load: config, status, logs, calendar.

The real UI (LCOGT/ptr_ui) reads each service's base URL from `src/store/modules/api_endpoints.js`
(`active_api`, `status_endpoint`, `logs_endpoint`, `calendar_api`); pointed all at the local
site, every call lands here. Config is answered in full (the UI does not mount without it); the
rest answer the well-formed empty value the UI expects for a site with no status, no logs, no
note and no reservation, so its console stays clean:

| call (UI source)                                         | answer |
|----------------------------------------------------------|--------|
| `GET /all/config`, `/{site}/config` (`site_config.js`)   | `siteconfig.py` |
| `GET /allopenstatus` (`sitestatus/index.js`)             | `{}` |
| `GET /{site}/complete_status` (same)                     | `{}`: no `status` key means "no status" there |
| `GET /{wema}/obs_settings`, `wema_settings`, `forecast`  | `{"status": {}, "server_timestamp_ms": 0}` |
| `GET /{wema}/owm_report`                                 | `{"status": {"owm_report": {}}, ...}` |
| `GET /phase_status/{site}` (`PhaseStatusBar.vue`)        | `[]` |
| `GET /recent-logs` (`userstatus.js`)                     | `[]` |
| `POST /get-event-at-time` (`calendar.js`)                | `[]` |
| `GET /nightlog/{site}` (`NightLog.vue`; photonranch-api `night_log.py`) | 204, `No note exists for site {site}` |
| `GET /latest_image_all_sites` (`SitesOverviewCards.vue`; `db.get_latest_image_all_sites`) | `{site: jpg_url}` |
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from send_test_images.localsite import siteconfig
from send_test_images.localsite.web.context import context_of
from send_test_images.localsite.web.inputs import json_body, path_param
from send_test_images.localsite.web.jsonbody import FiniteJSONResponse
from send_test_images.localsite.web.problems import internal_error, text

DEFAULT_SITE = "tst"
"""Always configured, so the UI has a site to open before anything was sent (`up`'s default)."""
EMPTY_STATUS = {"status": {}, "server_timestamp_ms": 0}


def _instruments(request: Request) -> dict[str, list[str]]:
    found = context_of(request).db.instruments_by_site()
    found.setdefault(DEFAULT_SITE, [])
    return found


def all_config(request: Request) -> Response:
    """Every site with data (and `tst`), as `{site: configuration}` (`all_config`)."""
    return FiniteJSONResponse(siteconfig.all_configs(_instruments(request)))


async def site_config(request: Request) -> Response:
    """One site's configuration; a site with none fails as the real `get_config` does.

    The real handler reads `config['Item']` of a missing item: a KeyError, which API Gateway
    answers 502 `{"message": "Internal server error"}`; ours answers the same.
    """
    site = path_param(request, "site")
    instruments = _instruments(request)
    if site not in instruments:
        return await internal_error(request, KeyError("Item"))
    return FiniteJSONResponse(siteconfig.site_config(site, instruments[site]))


async def no_reservation(request: Request) -> Response:
    """`{"site", "time"}` in, the reservations at that time out: none."""
    await json_body(request)
    return FiniteJSONResponse([])


def empty_object(request: Request) -> Response:
    return FiniteJSONResponse({})


def empty_list(request: Request) -> Response:
    return FiniteJSONResponse([])


def empty_status(request: Request) -> Response:
    path_param(request, "site")
    return FiniteJSONResponse(EMPTY_STATUS)


def empty_owm_report(request: Request) -> Response:
    path_param(request, "site")
    return FiniteJSONResponse({**EMPTY_STATUS, "status": {"owm_report": {}}})


def complete_status(request: Request) -> Response:
    path_param(request, "site")
    return FiniteJSONResponse({})


def phase_status(request: Request) -> Response:
    path_param(request, "site")
    return FiniteJSONResponse([])


def nightlog(request: Request) -> Response:
    """No note: `get_note_handler`'s 204 with its text."""
    site = path_param(request, "site")
    return text(204, f"No note exists for site {site}")


def latest_image_all_sites(request: Request) -> Response:
    """`{site: medium JPG URL}` of each site's newest image (`get_latest_image_all_sites`)."""
    ctx = context_of(request)
    answer = {}
    for site in ctx.db.sites_with_data():
        rows = ctx.db.latest_images(site, 1)
        if rows:
            row = rows[0]
            answer[site] = ctx.presign_get(f"data/{row['base_filename']}-{row['data_type']}10.jpg")
    return FiniteJSONResponse(answer)
