"""What a terminal's ``phoenix`` acts on: the settings, and a models folder it can use.

In the container the bootstrap writes its choices (the models root, the storage
mode) to ``runtime.env``, so a ``phoenix`` run from a terminal acts like the
running service; the process environment and the options win over it.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from ...folders import check_models_root
from ...runtime import container_environ
from ...service import default_models_root
from ...settings import Settings, load_settings


def cli_settings(args: argparse.Namespace) -> Settings:
    """The settings: ``runtime.env``, then the environment, then ``--models-dir``.

    Raises:
        ConfigError: a variable has an invalid value (named, with a valid example).
    """
    settings = load_settings(container_environ())
    models_dir = getattr(args, "models_dir", None)
    if models_dir is not None:
        settings = settings.model_copy(update={"models_dir": models_dir})
    if settings.debug_mode:
        logging.getLogger().setLevel(logging.DEBUG)
    return settings


def usable_models_root(settings: Settings, *, create: bool) -> Path:
    """The models root, proven writable (and made, with ``create``) before any work.

    Raises:
        UnusableFolderError: it is a file, its parent is missing, or it is not writable.
    """
    root = default_models_root(settings)
    check_models_root(root, create=create)
    return root
