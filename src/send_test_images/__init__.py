"""send-test-images: realistic fake observatory data, sent the way a Photon Ranch site sends it."""

from __future__ import annotations

__version__ = "0.1.0"
