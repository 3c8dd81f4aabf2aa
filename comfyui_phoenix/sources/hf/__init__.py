"""HuggingFace: a repository, or one file or folder in it, planned through huggingface_hub.

- ``source.py``: :class:`HuggingFaceSource`, the plan and the token-safe endpoint.
- ``hub.py``: the hub's metadata (access check, commit, file tree) through ``HfApi``.
- ``selection.py``: which files of a repository ComfyUI loads.
- ``flux/``: the FLUX family as data (``catalog.json``), the precision choice and the plan.
- ``flux_repos.py``: a FLUX plan's repositories opened in order, its files checked against the pins.
- ``wording.py``: what the hub's failed answers mean, with huggingface_hub 0.x, 1.x or 2.x.
- ``card.py``: what a repository's card says of its model (licence, base model, preview).
- ``catalog.py``: the hub's model search, and a repository's files to choose from.
"""

from .source import HuggingFaceSource

__all__ = ["HuggingFaceSource"]
