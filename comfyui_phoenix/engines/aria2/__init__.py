"""aria2c as a transfer engine: a private child process driven over loopback JSON-RPC.

Phoenix starts its own ``aria2c`` on demand and talks to it through aria2p; aria2
only fills ``NAME.part`` and the shared pipeline does the rest. Where things are:

- ``engine.py``: :class:`Aria2Engine`: start, close, the transfer loop and its next steps.
- ``daemon.py``: the aria2c child process: private directory, environment, log relay,
  launch and stop.
- ``rpc.py``: the loopback JSON-RPC client and its failures as Phoenix errors.
- ``options.py``: the daemon's global options and each download's own (headers included).
- ``downloads.py``: one download inside aria2c: added, followed, abandoned or forgotten.
- ``progress.py``: progress from aria2's status answers, and the poll pacing.
- ``orphans.py``: aria2c processes of a Phoenix that died, killed before the next transfer
  of either engine.
- ``failures.py``: aria2's exit codes as Phoenix errors and a next step; the HTTP
  statuses among them read as every transfer's answers do.
"""

from .engine import Aria2Engine
from .orphans import stop_orphans
from .progress import contiguous_bytes

__all__ = ["Aria2Engine", "contiguous_bytes", "stop_orphans"]
