"""The parts of ``bench/downloads.py``: Phoenix's engines raced against common clients.

- ``throttled_server.py``: the local hub over a rate-capped CDN, in its own process.
- ``model_file.py``: the safetensors file every client downloads.
- ``clients.py``: each client's command line (Phoenix, ``hf_hub_download``, curl).
- ``phoenix_client.py``: the Phoenix CLI with its tail's flushes timed, and those timings.
- ``sampling.py``: the file's growth on disk and the process tree's peak RSS, polled.
- ``measure.py``: one client run: wall clock, start, transfer, tail, flush, CPU.
- ``result.py``: one run's numbers.
- ``disk.py``: the disk's durable write speed, the cap below it, dropping the page cache.
- ``machine_facts.py``: the machine and the versions, for the report.
- ``run.py``: the whole run, rounds and medians.
- ``targets.py``, ``report.py``: the engines' targets, and the Markdown report.
- ``units.py``, ``paths.py``: the units, the checkout and the entry script.
"""

from .clients import ALL_CLIENTS
from .phoenix_client import phoenix_client
from .run import run
from .throttled_server import serve
from .units import MB, GiB

__all__ = ["ALL_CLIENTS", "MB", "GiB", "phoenix_client", "run", "serve"]
