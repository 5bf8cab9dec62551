"""The pixels of a frame, as pure numpy: sky, stars, camera. No I/O and no global RNG.

    frame = make_frame(FrameSpec(kind="light", filter="L"), camera, seed=42)
    frame.pixels  # uint16 (height, width) ADU including bias
    frame.truth   # astropy Table of the injected stars
    frame.params  # every synthesis parameter, for the header
    sketch_frame(...)  # the same frame's stars and parameters, no pixels (a header sent alone)
"""

from __future__ import annotations

from send_test_images.exposure.synth.frames import make_frame, sketch_frame
from send_test_images.exposure.synth.spec import FRAME_KINDS, IMAGE_KINDS, Frame, FrameSketch, FrameSpec
from send_test_images.exposure.synth.stars import make_star_table

__all__ = [
    "FRAME_KINDS", "IMAGE_KINDS", "Frame", "FrameSketch", "FrameSpec", "make_frame", "make_star_table",
    "sketch_frame",
]
