"""``dockwright doctor``: every host check, the predicted build setup, and the fixes.

(Placeholder: being written. ``command`` returns (exit code, text to print).)
"""

from __future__ import annotations

import argparse

from dockwright.errors import Exit
from dockwright.host.probes import Prober
from dockwright.host.view import HostView


def command(args: argparse.Namespace, view: HostView, prober: Prober) -> tuple[int, str]:
    return int(Exit.OK), "doctor: not written yet"
