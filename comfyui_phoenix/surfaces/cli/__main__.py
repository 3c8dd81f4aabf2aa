"""``python -m comfyui_phoenix.surfaces.cli``: the ``phoenix`` command."""

import sys

from .main import main

sys.exit(main())
