"""The parts of ``bench/startup.py``: what starting Phoenix costs, from a terminal and in ComfyUI.

- ``subjects.py``: the commands compared, and the environment that makes them import
  this checkout.
- ``wall_time.py``: whole commands timed as children, interleaved, with their CPU and RSS.
- ``importtime.py``: ``python -X importtime`` read back: the top-level and the heaviest.
- ``load_as_comfyui.py``: a script that imports the package root as ComfyUI does, under
  stand-in ``server`` and ``folder_paths`` modules, and times it.
- ``comfyui_import.py``: runs that script in fresh interpreters: the ComfyUI import row.
- ``report.py``: the table, the import breakdowns and the budgets.
"""

from .comfyui_import import comfyui_import
from .importtime import cli_import
from .report import budget_lines, budgets, command_table, import_lines
from .subjects import ROOT, child_env, commands, imported_from
from .wall_time import spread, time_commands

__all__ = [
    "ROOT",
    "budget_lines",
    "budgets",
    "child_env",
    "cli_import",
    "comfyui_import",
    "command_table",
    "commands",
    "import_lines",
    "imported_from",
    "spread",
    "time_commands",
]
