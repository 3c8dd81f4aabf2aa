"""The ``phoenix`` command: the same engine the UI uses, from a terminal.

- ``main.py``: the arguments, and the one place errors become exit codes.
- ``context.py``: the settings a terminal's ``phoenix`` acts on, and the models folder check.
- ``fetch.py``, ``plan.py``, ``status.py``, ``doctor.py``, ``cleanup.py``: one command each.
- ``progress.py``: the plan table and the progress bars.

Nothing heavy is imported before the arguments are read.
"""

from .main import main

__all__ = ["main"]
