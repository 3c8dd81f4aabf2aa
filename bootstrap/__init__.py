"""Phoenix's container bootstrap: GPU checks, storage, secrets handoff, then ComfyUI and FileBrowser.

Run as ``python -m bootstrap`` by ``entrypoint.sh`` under tini (:mod:`bootstrap.boot`).
The steps are ordered and idempotent (:mod:`bootstrap.steps`); each logs a timestamped
line marked ok, information or failure and updates ``boot-report.json``. Every path hangs off :class:`bootstrap.paths.BootPaths`,
so the whole boot runs under a temporary root in tests. This package is copied into the
image; it is not part of the ``comfyui-phoenix`` wheel.
"""
