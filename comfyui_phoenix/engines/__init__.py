"""Transfer engines: aria2c (through aria2p) and a pure-Python aiohttp engine.

Both honour one contract (:mod:`.base`): fill ``NAME.part`` with the file's bytes,
resuming what is there, and report progress. Verification and the atomic move
into place are shared (:mod:`.verify`), so both engines give the same results,
and so is the reading of a storage host's answers during a transfer
(:mod:`.transfer_answers`), so both end a refused transfer in the same words.
"""
