"""CivitAI: a model, a version or an AIR becomes one planned file.

- ``source.py``: :class:`CivitaiSource`, the plan and the endpoint for a transfer.
- ``api.py``: reading CivitAI's REST API (``/api/v1``) into a :class:`Release` (``release.py``).
- ``files.py``: which of a version's files a reference means, its public download URL.
- ``signed_links.py``: the download URL's redirect to a short-lived signed storage URL.
- ``wording.py``: what CivitAI's and its storage's failed answers mean to a user.
- ``describe.py``: what a version says of its model (names, trigger words, licence, preview).
- ``catalog.py``: CivitAI's search, a model's versions and files, a file found by its hash.
"""

from .source import CivitaiSource

__all__ = ["CivitaiSource"]
