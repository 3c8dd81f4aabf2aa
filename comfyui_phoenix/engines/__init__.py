"""Transfer engines: aria2c (through aria2p) and a pure-Python aiohttp engine.

Both honour one contract (:mod:`.base`): fill ``NAME.part`` with the file's bytes,
resuming what is there, and report progress. What they share, so that both give
the same results:

- ``pipeline.py``: the download pipeline every download goes through: free space,
  the engine's transfer, verification, publishing.
- ``part_owners.py``: who had a part file before: an aria2c of a Phoenix that died is
  stopped, a part the other engine began is started over.
- ``transfer_answers.py``: a storage host's answers during a transfer: the next
  step, and the error that ends it, in the same words for both engines.
- ``verify.py``: streaming hashes, size and content checks, the atomic move into place.
"""
