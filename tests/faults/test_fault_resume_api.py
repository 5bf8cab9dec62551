"""Issue 11, item 15: `resume RUN --api URL` finishes a run whose site moved (here: to another port).

A run journals where it sends; once that site listens elsewhere, `resume` alone can only fail.
`--api` overrides the target for this resume and the journal records it, so a later `resume`
goes to the new place too.
"""

from __future__ import annotations

from send_test_images.exitcodes import ExitCode
from send_test_images.sending import journal

from inprocess import FILES, run_cli, up
from loopback_server import LoopbackServer, s3_error


def test_resume_with_api_sends_the_rest_to_the_moved_site_and_remembers_it() -> None:
    with LoopbackServer() as old:
        old.s3_script.append(s3_error(403, "AccessDenied", "refused once by a test"))
        first = up(old.url, repeat=2, concurrency=1)
    assert first.code == ExitCode.FAILED
    [[owed]] = journal.read(first.run_id).unsent().values()

    with LoopbackServer() as moved:
        code, out, err = run_cli("resume", first.run_id, "--api", moved.url + "/")

        assert code == 0, err
        assert f"resuming run {first.run_id} to {moved.url}" in out
        assert set(moved.objects) == {f"data/{owed.name}"}
    state = journal.read(first.run_id)
    assert state.finished and state.target == moved.url
    assert len(state.sent) == 2 * len(FILES)


def test_resume_api_needs_a_run_id_and_a_valid_target() -> None:
    code, _, err = run_cli("resume", "--api", "http://127.0.0.1:9")
    assert code == ExitCode.USAGE
    assert err.strip() == (
        "send-test-images: error: resume --api is not allowed without a run id: "
        "name the run that moved (`resume RUN_ID --api URL`)"
    )
    code, _, err = run_cli("resume", "r1", "--api", "ftp://example")
    assert code == ExitCode.USAGE and len(err.strip().splitlines()) == 1
