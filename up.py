"""The original entry point, kept working: `python up.py -s tst -f fFh -r 3`.

Same flags as `send-test-images up`; run it with the project's Python (`./dev up` installs
everything into .venv, then `.venv/bin/python up.py ...`).
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "src"))

try:
    from send_test_images.cli import up_main
except ImportError as exc:  # numpy, astropy, ... not installed for this Python
    sys.exit(
        f"up.py: error: {exc.name or exc} is not installed for {sys.executable}: "
        "run `./dev up` once (installs into .venv), then `.venv/bin/python up.py ...`"
    )

if __name__ == "__main__":
    sys.exit(up_main())
