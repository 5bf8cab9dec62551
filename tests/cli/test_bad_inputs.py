"""Every bad input: one line naming the value and what is allowed, exit 2, nothing reserved or sent.

Each case runs the real command in process with the default target (the embedded local site).
A value that is only found bad after the site started, numbers were reserved or a journal was
opened fails here three ways: the site would have to start (these tests may not start weed, see
conftest), a counter or journal file would appear, or the message would not be one line.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from send_test_images.cli import main
from send_test_images.exitcodes import ExitCode

PREFIX = "send-test-images: error: "


def _a_file(tmp_path: Path) -> str:
    path = tmp_path / "a-file"
    path.write_text("not a folder")
    return str(path)


# (argv, the text the message must name). "{file}" is replaced by a path to an existing file,
# "{missing}" by a path inside a folder that does not exist.
CASES: list[tuple[list[str], str]] = [
    (["up", "-r", "0"], "'0'"),
    (["up", "-r", "-1"], "'-1'"),
    (["up", "-r", "abc"], "'abc'"),
    (["up", "-r", "1000000000000"], "1000000000000"),
    (["up", "-ss", "0"], "'0'"),
    (["up", "--seed", "-1"], "'-1'"),
    (["up", "--seed", "1.5"], "'1.5'"),
    (["up", "--seed", "18446744073709551616"], "18446744073709551616"),
    (["up", "--exptime", "-1"], "'-1'"),
    (["up", "--exptime", "1e300"], "1e300"),
    (["up", "--exptime", "inf"], "'inf'"),
    (["up", "--exptime", "nan"], "'nan'"),
    (["up", "--seeing", "0"], "seeing"),
    (["up", "--seeing", "1e-300"], "1e-300"),
    (["up", "--seeing", "inf"], "'inf'"),
    (["up", "--time", "yesterday"], "'yesterday'"),
    (["up", "--time", "0001-01-01T00:00:00"], "0001-01-01"),
    (["up", "--time", "9999-12-31T23:59:59", "-r", "2"], "9999-12-31"),
    (["up", "--rate", "0"], "'0'"),
    (["up", "--rate", "1e-300"], "1e-300"),
    (["up", "--rate", "inf"], "'inf'"),
    (["up", "--duration", "0"], "'0'"),
    (["up", "--duration", "inf"], "'inf'"),
    (["up", "--timeout", "0"], "0"),
    (["up", "--timeout", "1e300"], "1e300"),
    (["up", "--timeout", "-5"], "'-5'"),
    (["up", "--retries", "-1"], "'-1'"),
    (["up", "--concurrency", "0"], "'0'"),
    (["up", "--concurrency", "100000"], "100000"),
    (["up", "--workers", "-1"], "'-1'"),
    (["up", "-s", "waytoolongsite"], "waytoolongsite"),
    (["up", "-s", "a/b"], "a/b"),
    (["up", "--inst", "../x"], "../x"),
    (["up", "-dt", "EXP"], "EXP"),
    (["up", "-f", "xyz"], "xyz"),
    (["up", "-f", "hh"], "hh"),
    (["up", "--like", "ptr-observatory", "-f", "F"], "'F'"),
    (["up", "--camera", "nope"], "nope"),
    (["up", "--size", "10x10"], "10x10"),
    (["up", "--size", "abc"], "abc"),
    (["up", "--pixel-scale", "0"], "0"),
    (["up", "--pixel-scale", "1e9"], "1e9"),
    (["up", "--filter", "Q"], "Q"),
    (["up", "--location", "100,0"], "100,0"),
    (["up", "--location", "a,b"], "a,b"),
    (["up", "--frame", "nope"], "nope"),
    (["up", "--stars", "gaia"], "gaia"),
    (["up", "--target", "M99"], "M99"),
    (["up", "--target", "400,10"], "400,10"),
    (["up", "--target", "10,-95"], "10,-95"),
    (["up", "--target", "10,north"], "10,north"),
    (["up", "--target", "nan,0"], "nan,0"),
    (["up", "--target", "M31", "--time", "2026-06-01T03:00:00"], "M31"),
    (["make", "--target", "M31", "--time", "2026-06-01T03:00:00"], "below the horizon"),
    (["up", "--user", "it's"], "it's"),
    (["up", "-s3", "nowhere"], "nowhere"),
    (["up", "-s3", "info-images", "-c", "9"], "9"),
    (["up", "-c", "2"], "2"),
    (["up", "--api", "ftp://example.org"], "ftp://example.org"),
    (["up", "--api", "nowhere"], "nowhere"),
    (["up", "--report", "{missing}"], "{missing}"),
    (["up", "--out", "{file}"], "{file}"),
    (["up", "--data", "{file}"], "{file}"),
    (["make", "--number", "-1"], "'-1'"),
    (["make", "--out", "{file}"], "{file}"),
    (["serve", "--port", "70000"], "70000"),
    (["serve", "--data", "{file}"], "{file}"),
    (["serve", "--db", "mysql://me@127.0.0.1/site"], "mysql://me@127.0.0.1/site"),
    (["serve", "--db", "postgresql://me@127.0.0.1:5432"], "postgresql://me@127.0.0.1:5432"),
    (["serve", "--db", "not a url"], "'not a url'"),
    (["serve", "--s3-endpoint", "ftp://127.0.0.1:21"], "ftp://127.0.0.1:21"),
    (["serve", "--s3-endpoint", "http://127.0.0.1:9000/bucket"], "http://127.0.0.1:9000/bucket"),
    (["serve", "--s3-endpoint", "http://127.0.0.1:99999"], "http://127.0.0.1:99999"),
    (["serve", "--s3-bucket", "Photon_Ranch"], "Photon_Ranch"),
    (["serve", "--s3-bucket", "photonranch-002"], "photonranch-002"),
    (["resume", "bad/id"], "bad/id"),
    (["resume", "--timeout", "0"], "0"),
]


def _state_files(home: Path) -> list[str]:
    return sorted(str(p.relative_to(home)) for p in home.rglob("*") if p.is_file())


@pytest.mark.parametrize(("argv", "named"), CASES, ids=[" ".join(a) for a, _ in CASES])
def test_a_bad_value_gets_one_line_naming_it_and_nothing_starts(
    argv: list[str], named: str, tmp_path: Path, _isolated_home: Path
) -> None:
    values = {"{file}": _a_file(tmp_path), "{missing}": str(tmp_path / "no-such-folder" / "report.json")}
    argv = [values.get(a, a) for a in argv]
    named = values.get(named, named)
    before = _state_files(_isolated_home)
    out, err = io.StringIO(), io.StringIO()
    try:
        code = main(argv, stdout=out, stderr=err)
    except BaseException as exc:  # a traceback is exactly what this test is here to catch
        pytest.fail(f"{argv}: raised {type(exc).__name__}: {exc}")
    lines = err.getvalue().splitlines()
    assert code == ExitCode.USAGE, (code, err.getvalue(), out.getvalue())
    assert len(lines) == 1, lines
    assert lines[0].startswith(PREFIX), lines
    assert named in lines[0], f"the message does not name {named!r}: {lines[0]}"
    says_what_is_allowed = any(w in lines[0] for w in ("use", "allowed", "choose from"))
    assert says_what_is_allowed, f"the message does not say what is allowed: {lines[0]}"
    assert _state_files(_isolated_home) == before, "a bad value reserved numbers, opened a journal or made a site"


def test_a_library_caller_meets_the_same_limits_before_anything_starts() -> None:
    import datetime as dt

    from send_test_images.errors import UsageError
    from send_test_images.exposure.options import BatchOptions
    from send_test_images.exposure.plan import plan
    from send_test_images.sending.options import RunRequest, SendOptions

    with pytest.raises(UsageError, match="rate 1e-300 is not allowed"):
        SendOptions(rate=1e-300)
    with pytest.raises(UsageError, match=r"timeout 1e\+300 is not allowed"):
        SendOptions(timeout=1e300)
    with pytest.raises(UsageError, match=r"duration 1e\+300 is not allowed"):
        RunRequest(duration=1e300)
    with pytest.raises(UsageError, match="that is 199999998 file numbers and a camera has 99999999"):
        BatchOptions(repeat=99_999_999, smartstack=2)
    late = BatchOptions(repeat=3, camera="sq768", time=dt.datetime(2199, 12, 31, 23, 59, tzinfo=dt.UTC))
    with pytest.raises(UsageError, match=r"a run of 3 exposure\(s\) starting 2199-12-31T23:59:00"):
        plan(late, range(1, 4), seed=1)


def test_serve_on_an_external_s3_without_keys_is_refused_before_anything_starts(
    monkeypatch: pytest.MonkeyPatch, _isolated_home: Path
) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID", raising=False)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "a-secret")
    err = io.StringIO()
    assert main(["serve", "--s3-endpoint", "http://127.0.0.1:9"], stdout=io.StringIO(), stderr=err) == ExitCode.USAGE
    line, = err.getvalue().splitlines()
    assert line.startswith(PREFIX) and "AWS_ACCESS_KEY_ID" in line and "http://127.0.0.1:9" in line
    assert _state_files(_isolated_home) == []


def test_serve_on_an_unreachable_database_says_so_in_one_line_before_weed_starts(tmp_path: Path) -> None:
    """Found only when serve connects, so it is a failure (exit 1), not a usage error; weed is not
    started (this test is not marked s3: a weed would fail it with another message)."""
    url = "postgresql://nobody@127.0.0.1:1/nowhere"
    err = io.StringIO()
    code = main(["serve", "--db", url, "--data", str(tmp_path)], stdout=io.StringIO(), stderr=err)
    line, = err.getvalue().splitlines()
    assert code == ExitCode.FAILED
    assert line.startswith(PREFIX + f"cannot open the database {url} ("), line
    assert line.endswith("start it, or check --db")
