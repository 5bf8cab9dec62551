"""Imported by the forkserver only, first (`pipeline.PRELOAD`): it dies with `up`, ignores Ctrl-C.

The forkserver imports its preload modules and nothing else of ours before it forks workers, so
this import is the one hook it offers; see `lifeline` for why both are needed. Nothing else
imports this module: its import is its whole effect.
"""

from __future__ import annotations

from send_test_images.sending.lifeline import die_with_parent, ignore_ctrl_c

ignore_ctrl_c()
die_with_parent()
