"""The boot's ordered, idempotent steps: one file per step, the table, the runner.

Steps, in order (each one logged and recorded in ``boot-report.json``; :mod:`.order`):

1. ``settings`` (:mod:`.settings`): every variable validated; a bad one stops the boot,
   naming it. Then the boot marker is touched: files in ``/tmp`` changed after it are
   this run's.
2. ``gpu`` (:mod:`.gpu`): NVML and the image's PyTorch checked against each other
   (:mod:`comfyui_phoenix.gpu_check`).
3. ``storage`` (:mod:`.storage`): volume or ephemeral layout, ``extra_model_paths.yaml``,
   ``runtime.env``.
4. ``secrets`` (:mod:`.secrets`): ``secrets.json`` (0600) for the extension; no child
   sees a token.
5. ``installs`` (:mod:`.installs`): ``COMFY_CUSTOM_NODE_GIT_URLS`` and
   ``EXTRA_PYTHON_PACKAGES`` under the constraints.
6. ``filebrowser`` (:mod:`.filebrowser`): a fresh database, the admin user imported from
   a 0600 file, started.
7. ``comfyui`` (:mod:`.comfyui`): flags chosen and checked against ``--help``, started.
8. ``ready`` (:mod:`.ready`): ComfyUI answers ``/system_stats`` (with the internal bearer
   token when the login gate is on: the gate refuses anonymous requests to every other
   route).
9. ``gate`` (:mod:`.gate`): with ``COMFY_AUTH`` on, anonymous requests must be refused;
   a ComfyUI that answers them is stopped and stays stopped.

Running them again is harmless: folders and files are rewritten, clones that exist are
kept, FileBrowser's database is made anew. Each step is an ``async`` function over the
boot's :class:`~bootstrap.context.BootContext` that returns an :class:`~.outcome.Outcome`
(:mod:`.outcome`); :mod:`.runner` runs them.
"""

from .outcome import EXIT_FAILED
from .runner import run_steps

__all__ = ["EXIT_FAILED", "run_steps"]
