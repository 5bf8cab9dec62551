"""The original entry point, kept working: `python up.py -s tst -f fFh -r 3`.

Same flags as `send-test-images up`. Any Python will do once `./dev up` (or `./dev test`) has
installed the project into .venv: without the dependencies, this script re-runs itself there.
"""

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "src"))

try:
    import send_test_images.cli.commands  # noqa: F401  (imports every dependency, so a missing one shows here)
    from send_test_images.cli import leave, up_main
except ImportError as exc:  # numpy, astropy, ... are not installed for this Python
    venv = HERE / ".venv"
    venv_python = venv / "bin" / "python"
    # Compare environments, not executables: .venv/bin/python is a symlink to the very Python
    # that built it, so both resolve to one file while only the venv has the dependencies.
    if venv_python.exists() and Path(sys.prefix).resolve() != venv.resolve():
        os.execv(str(venv_python), [str(venv_python), str(Path(__file__).resolve()), *sys.argv[1:]])
    sys.exit(
        f"up.py: error: {exc.name or exc} is not installed for {sys.executable}: "
        "run `./dev up` once (it installs everything into .venv), then `python up.py ...` again"
    )

if __name__ == "__main__":
    leave(up_main())
