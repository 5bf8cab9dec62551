"""`send-test-images load` hands every argument to Locust; nothing else ever imports Locust."""

from __future__ import annotations

import importlib.util
import io
import os
import subprocess
import sys
from typing import Any, ClassVar

import pytest

from send_test_images import cli
from send_test_images.exitcodes import ExitCode
from send_test_images.load import LOCUSTFILE


class FakeLocust:
    """Stands in for the Locust process: records its command line, exits with `code`."""

    calls: ClassVar[list[list[str]]] = []
    code = 0

    def __init__(self, argv: list[str], **_: Any) -> None:
        FakeLocust.calls.append(argv)

    def wait(self) -> int:
        return FakeLocust.code


@pytest.fixture
def fake_locust(monkeypatch: pytest.MonkeyPatch) -> type[FakeLocust]:
    FakeLocust.calls, FakeLocust.code = [], 0
    monkeypatch.setattr(subprocess, "Popen", FakeLocust)
    return FakeLocust


def test_every_argument_goes_to_locust_as_it_is(fake_locust: type[FakeLocust]) -> None:
    args = ["--headless", "-u", "50", "-r", "5", "-t", "1h", "--host", "http://127.0.0.1:8000",
            "--master", "--expect-workers", "4", "--csv", "out/load", "--html", "out/load.html", "--cadence", "0"]
    assert cli.main(["load", *args]) == ExitCode.OK
    assert fake_locust.calls == [[sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), *args]]
    assert LOCUSTFILE.is_file()


def test_locusts_exit_code_is_ours(fake_locust: type[FakeLocust]) -> None:
    fake_locust.code = 1  # Locust: the test had failures
    assert cli.main(["load", "--worker"]) == 1


def test_load_help_adds_our_options_to_locusts(fake_locust: type[FakeLocust]) -> None:
    out = io.StringIO()
    assert cli.main(["load", "-h"], stdout=out) == ExitCode.OK
    assert fake_locust.calls[0][-1] == "-h"
    text = out.getvalue()
    for flag in ("--camera", "--cadence", "--pool-size", "--fresh-frames", "--run-tag", "--ledger"):
        assert f"  {flag} " in text


def test_without_locust_load_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch,
                                                    fake_locust: type[FakeLocust]) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "locust" else real(name, *a))
    err = io.StringIO()
    assert cli.main(["load", "--headless"], stderr=err) == ExitCode.USAGE
    assert "pip install 'send-test-images[load]'" in err.getvalue()
    assert fake_locust.calls == []


def test_help_and_the_load_modules_import_no_locust_nor_gevent() -> None:
    probe = (
        "import sys\nfrom send_test_images import cli\n"
        "for command in ([], ['up'], ['resume'], ['make'], ['serve']):\n"
        "    try:\n        cli.main([*command, '-h'])\n    except SystemExit:\n        pass\n"
        "import send_test_images.load.camera, send_test_images.load.ledger, send_test_images.load.names\n"
        "import send_test_images.load.options, send_test_images.load.pool\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('locust', 'gevent')), file=sys.stderr)\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120,
                            check=False, env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == "[]"
