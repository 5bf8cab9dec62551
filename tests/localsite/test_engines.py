"""`serve` on real engines: an external PostgreSQL and an external S3 keep every promise of the
embedded defaults (restart persistence, one site per database, no 5xx of the site's own making).

The "external" S3 is a weed started apart from the site, on loopback, as a cluster would be run
by someone else; the PostgreSQL servers are real (tests/postgres_server.py).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest

from postgres_server import PostgresServer, find_postgres_bin
from send_test_images.errors import LocalSiteError
from send_test_images.localsite import LocalSite
from send_test_images.localsite.s3endpoint import S3Endpoint
from send_test_images.localsite.s3server import S3Server

from localsite_fixtures import WAIT_SECONDS, latest, make_header_text, make_jpg, presign, upload, wait_for

pytestmark = pytest.mark.s3

IMAGE = "tst-inst-20261130-00000011"
HEADER = make_header_text(DATE_OBS="2026-11-30T03:04:05", CRVAL1=15.0, CRVAL2=5.0, EXPTIME=3.0)
EXTERNAL_BUCKET = "someone-elses-bucket"


@pytest.fixture
def external_s3(tmp_path: Path) -> Iterator[S3Endpoint]:
    """A weed that is not the site's: started here, with its own keys, stopped after the test."""
    with S3Server(tmp_path / "external-s3") as weed:
        yield S3Endpoint(weed.url, EXTERNAL_BUCKET, credentials=weed.credentials)


def test_an_external_s3_takes_the_uploads_and_the_site_survives_a_restart(
    tmp_path: Path, external_s3: S3Endpoint, postgres: PostgresServer
) -> None:
    """Both engines external at once (S3 does not care which database the rows are in)."""
    site_database = postgres.new_database()
    data_dir = tmp_path / "site"
    with LocalSite.start(data_dir, s3_endpoint=external_s3, db=site_database) as site:
        assert site.s3_url == external_s3.url and site.s3_pid is None  # no weed of its own
        assert not (data_dir / "s3").exists()
        presigned = presign(site.api_url, {"object_name": f"{IMAGE}-EX10.jpg"}).json()
        assert presigned["url"] == f"{external_s3.url}/{EXTERNAL_BUCKET}"  # made if missing
        assert upload(site.api_url, f"{IMAGE}-EX00.txt", HEADER).status_code == 204
        assert upload(site.api_url, f"{IMAGE}-EX10.jpg", make_jpg()).status_code == 204
        row = wait_for(lambda: (r := latest(site.api_url, "tst", IMAGE)) and r["jpg_small_exists"] and r,
                       "the image, heard of by listing the external bucket")
        assert row["exposure_time"] == 3.0
        assert row["jpg_url"].startswith(f"{external_s3.url}/{EXTERNAL_BUCKET}/")
        assert httpx.get(row["jpg_url"]).content == make_jpg()
        assert httpx.get(site.api_url + "/health").json()["s3_url"] == external_s3.url
    with LocalSite.start(data_dir, s3_endpoint=external_s3, db=site_database) as again:
        row = latest(again.api_url, "tst", IMAGE)
        assert row is not None and row["jpg_small_exists"]
        assert httpx.get(row["jpg_thumbnail_url"]).status_code == 200


@pytest.fixture
def own_postgres() -> Iterator[PostgresServer]:
    """A PostgreSQL server this test may stop and start (the session's one serves other tests)."""
    bin_dir = find_postgres_bin()
    assert bin_dir is not None, "PostgreSQL is not installed: ./dev test installs it"
    server = PostgresServer(bin_dir).start()
    try:
        yield server
    finally:
        server.stop()


def test_a_database_outage_is_a_503_with_retry_advice_and_nothing_is_lost(
    tmp_path: Path, own_postgres: PostgresServer
) -> None:
    """PostgreSQL only: an SQLite file in the data dir has no outage of its own."""
    with LocalSite.start(tmp_path, db=own_postgres.new_database()) as site:
        upload(site.api_url, f"{IMAGE}-EX10.jpg", make_jpg())
        wait_for(lambda: latest(site.api_url, "tst", IMAGE), "the image before the outage")

        own_postgres.halt()
        late = IMAGE.replace("00000011", "00000012")
        assert upload(site.api_url, f"{late}-EX10.jpg", make_jpg()).status_code == 204  # S3 still takes it
        for answer in (httpx.get(f"{site.api_url}/tst/latest_images/5"),
                       httpx.post(f"{site.api_url}/numbers/reserve", json={"site": "tst", "inst": "inst", "count": 1}),
                       httpx.get(f"{site.api_url}/recentuploads", params={"site": "tst"})):
            assert answer.status_code == 503, answer.text
            assert answer.headers["retry-after"].isdigit()
            assert "is not answering" in answer.text and "retry in" in answer.text
        health = httpx.get(f"{site.api_url}/health")
        assert health.status_code == 503 and "the database postgresql://" in health.text, health.text

        own_postgres.resume()
        row = wait_for(lambda: latest(site.api_url, "tst", late), "the image that landed during the outage")
        assert row["jpg_medium_exists"]
        assert latest(site.api_url, "tst", IMAGE) is not None


def test_the_serve_command_on_real_engines_prints_them_and_ingests(
    tmp_path: Path, external_s3: S3Endpoint, postgres: PostgresServer
) -> None:
    """The CLI path: options -> environment keys -> serve; stops cleanly on SIGTERM."""
    assert external_s3.credentials is not None
    database = postgres.new_database()
    env = {**os.environ, "AWS_ACCESS_KEY_ID": external_s3.credentials.access_key,
           "AWS_SECRET_ACCESS_KEY": external_s3.credentials.secret_key}
    code = "import sys; from send_test_images.cli import main; sys.exit(main(sys.argv[1:]))"
    child = subprocess.Popen(
        [sys.executable, "-c", code, "serve", "--data", str(tmp_path / "site"), "--db", database,
         "--s3-endpoint", external_s3.url, "--s3-bucket", EXTERNAL_BUCKET],
        stdout=subprocess.PIPE, text=True, env=env,
    )
    try:
        assert child.stdout is not None
        lines = [child.stdout.readline() for _ in range(5)]
        api_url = lines[0].split()[-1]
        assert api_url.startswith("http://127.0.0.1:"), lines
        assert lines[1].split() == ["External", "S3:", external_s3.url, "(bucket", f"{EXTERNAL_BUCKET})"]
        assert lines[2].split() == ["Database:", database]
        assert upload(api_url, f"{IMAGE}-EX10.jpg", make_jpg()).status_code == 204
        wait_for(lambda: latest(api_url, "tst", IMAGE), "the image sent through the serve command")
        child.send_signal(signal.SIGTERM)
        assert child.wait(timeout=WAIT_SECONDS) == 0
    finally:
        child.kill()
        child.wait()
        if child.stdout is not None:
            child.stdout.close()


def _cut_sessions(postgres: PostgresServer, database: str) -> None:
    """End every session on `database` (as a PostgreSQL restart does), from outside the site."""
    with psycopg.connect(postgres.admin_url, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                      "WHERE datname = %s AND pid <> pg_backend_pid()", (database.rsplit("/", 1)[1],))


def test_one_site_per_database_even_across_a_cut_session(tmp_path: Path, postgres: PostgresServer) -> None:
    """PostgreSQL only: an SQLite database lives in its data dir, whose lock test_site.py covers."""
    database = postgres.new_database()
    with LocalSite.start(tmp_path / "first", db=database) as first:
        with pytest.raises(LocalSiteError) as refused:
            LocalSite.start(tmp_path / "second", db=database)  # another data dir, same database
        message = str(refused.value)
        assert re.search(rf"already served by pid \d+ on .+ at {re.escape(first.api_url)}", message), message
        assert not (tmp_path / "second" / "s3").exists()  # refused before its weed started

        _cut_sessions(postgres, database)  # the advisory lock goes with the session
        assert first.database_taken() is None  # serve's periodic check takes it again
        with pytest.raises(LocalSiteError, match="already served by"):
            LocalSite.start(tmp_path / "second", db=database)

        _cut_sessions(postgres, database)
        with LocalSite.start(tmp_path / "second", db=database) as second:  # got in before the check
            taken = first.database_taken()
            assert taken is not None and f"at {second.api_url}" in taken, taken
