"""The pure-Python transfer engine, for machines without aria2c.

Several keep-alive connections fetch fixed-size pieces of the file with HTTP
Range requests, handed out in file order so the bytes on disk grow as one
contiguous prefix that the shared hasher can follow. Each response is streamed
in chunks of at most 1 MiB straight into the pre-sized part file, so memory does
not grow with the file. A small JSON sidecar ``NAME.part.phx`` records the
file's size, its validators and the pieces already on disk; the next run
continues from there when the server still serves the same file.

One concern per file, from the bottom up:

* ``part_file.py``: the part file, its positional writes from worker threads, the
  Windows fallback.
* ``bandwidth_cap.py``: the token bucket behind the engine's and each transfer's rate.
* ``pieces.py``: the file cut into Range-sized pieces.
* ``remote_file.py``: what the server said about the file: size, validators,
  Content-Range, Range support, strong ETags.
* ``resume_record.py``: resume after kill -9: ``NAME.part.phx``, its format, loading
  and saving.
* ``transfer_state.py``: the bookkeeping of one transfer: pieces, the contiguous
  prefix, going whole, progress reports and periodic saves.
* ``http_errors.py``: the server's answers turned into the next step or a Phoenix
  error, web pages instead of the file refused.
* ``stream_to_disk.py``: one response's body copied into its piece, chunk by chunk,
  under the caps.
* ``retries.py``: the engine's retry policy on transient failures, a fresh link on
  refusal.
* ``engine.py``: :class:`PythonEngine`: the probe, the piece workers, restarts from
  byte 0.
"""

from .engine import PythonEngine
from .resume_record import sidecar_path

__all__ = ["PythonEngine", "sidecar_path"]
