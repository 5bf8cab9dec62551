"""The local Photon Ranch: S3 (weed), ingestion and the API on 127.0.0.1, for offline runs.

    with LocalSite.start(data_dir, port=0) as site:   # or LocalSite.connect_or_start(data_dir)
        site.api_url   # speaks the real API's routes
        site.s3_url    # the weed S3 endpoint the presigned URLs point at

The same server shows the observe page at `{api_url}/site/{site}/observe` (`/` picks a site with
data) and describes its API at `{api_url}/openapi.json`.
"""

from __future__ import annotations

from send_test_images.localsite.site import LocalSite, serve

__all__ = ["LocalSite", "serve"]
