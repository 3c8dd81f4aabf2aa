"""How a node gets its model: the plan, one job per file, and a wait ComfyUI can cancel.

Nodes run in ComfyUI's prompt worker thread, on its own event loop; they talk to
Phoenix on the server loop with ``run_coroutine_threadsafe`` and never share its
session. The same reference in two nodes is one download. Interrupting the prompt
stops the waiting; the download itself carries on in the background for the next run.

What a node fetches is its reference, or what its workflow says of it: a node whose
reference is empty fetches the model its ``properties.models`` names (ComfyUI's
workflow metadata), and a reference to the same file is held to that entry's SHA256.
A loader given a whole repository (``black-forest-labs/FLUX.2-klein-4B``) takes the
file of its own role from that repository's plan: for a FLUX member, the transformer,
autoencoder or text encoder in the precision this machine's plan chose, so a workflow
fetches what the boot preload already placed.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import NothingToFetchError, PhoenixError
from ..refs import Destination, HFRef, parse_reference
from . import comfy

if TYPE_CHECKING:
    from ..workflow import Need

WAIT_STEP = 0.25


def validate_reference(reference: str) -> bool | str:
    """Syntax only: the file need not exist yet (it is fetched when the node runs).

    An empty reference passes: the node's ``properties.models`` may name the file,
    which only the running node can see.
    """
    if not reference.strip():
        return True
    try:
        parse_reference(reference)
    except PhoenixError as exc:
        return str(exc)
    return True


def node_need(node: Any, widget: str, values: dict[str, Any], ids: tuple[Any, Any]) -> Need:
    """What the running ``node`` fetches for ``widget``, with its workflow's ``models`` entries.

    Args:
        node: the node instance (its class name is its node id).
        widget: the reference widget.
        values: the node's widget values in this run.
        ids: ComfyUI's hidden ``(unique_id, extra_pnginfo)``.
    """
    from ..workflow import node_needs, node_spec  # read only when a node runs

    unique_id, extra_pnginfo = ids
    workflow = extra_pnginfo.get("workflow") if isinstance(extra_pnginfo, dict) else None
    kind = type(node)
    found = node_needs(workflow, str(unique_id), kind.__name__, node_spec(kind), values)
    need = found.get(widget)
    if need is None:
        raise NothingToFetchError(
            f"{kind.__name__} #{unique_id} has an empty '{widget}' and names no model of its own.",
            hint="Type a reference, e.g. owner/repo/file.safetensors or civitai:12345.",
        )
    return need


def fetch(
    reference: str,
    folder: str | None,
    node_id: str | None,
    need: Need | None = None,
    role: str | None = None,
) -> tuple[str, Path]:
    """Fetch ``reference`` (waiting with a progress bar) and return (name in folder, path).

    Args:
        reference: what the node names.
        folder: the loader's folder (None: wherever the plan puts it).
        node_id: the node, for ComfyUI's progress bar.
        need: what the node's workflow says of it (:func:`node_need`), when it says more.
        role: the FLUX plan role a loader takes from a whole repository's plan.
    """
    loop = comfy.server_loop()
    submitted = _submit(reference.strip(), folder, need, role)
    job = _wait(asyncio.run_coroutine_threadsafe(submitted, loop))
    bar = comfy.progress_bar(100, node_id)

    def report() -> None:
        total = job.total or job.file.size
        bar.update_absolute(int(100 * job.done_bytes / total) if total else 0, 100)

    _wait(asyncio.run_coroutine_threadsafe(job.finished.wait(), loop), report)
    if job.state.value != "done":
        error = job.error or {}
        raise PhoenixError(
            f"{job.file.relpath}: {error.get('detail', 'the download did not finish')}",
            hint=error.get("hint"),
        )
    bar.update_absolute(100, 100)
    base = app_target(job.file.folder)
    name = job.dest.relative_to(base).as_posix() if job.dest.is_relative_to(base) else job.dest.name
    return name, job.dest


async def _submit(reference: str, folder: str | None, need: Need | None, role: str | None) -> Any:
    manager = comfy.running_app().service.manager
    if need is not None and _says_more(need):
        from ..jobs.workflow_plan import WorkflowPlanner

        planned = await WorkflowPlanner(manager.planner).plan_need(need)
        if planned.error is not None:
            raise planned.error
        return manager.submit_item(_one(reference, planned.items, planned.items), origin="node")
    ref = manager.planner.sources.parse(reference)
    repository = isinstance(ref, HFRef) and ref.path is None and ref.destination is None
    # A whole repository plans its files where they belong; the loader then takes its own.
    destination = Destination(folder) if folder and not repository else None
    plan = await manager.plan_refs([reference], destination=destination)
    if plan.problems:
        raise plan.problems[0].error
    items = _own_files(plan.items, folder, role) if repository else plan.items
    return manager.submit_item(_one(reference, items, plan.items, role or folder), origin="node")


def _one(reference: str, items: list[Any], planned: list[Any], kind: str | None = None) -> Any:
    """The one file a loader loads, or the sentence that says why there is not one."""
    if len(items) == 1:
        return items[0]
    names = ", ".join(i.file.relpath for i in (items or planned)[:6])
    what = "a loader needs one" if items else f"none of them is a {kind} file"
    raise NothingToFetchError(
        f"'{reference}' names {len(planned)} files ({names}); {what}.",
        hint="Name one file, e.g. owner/repo/file.safetensors.",
    )


def _own_files(items: list[Any], folder: str | None, role: str | None) -> list[Any]:
    """The files of a repository's plan a loader of ``role`` (or ``folder``) loads."""
    if role is not None and any(i.file.meta.get("role") for i in items):
        return [i for i in items if i.file.meta.get("role") == role]
    return [i for i in items if folder is None or i.file.folder == folder]


def _says_more(need: Need) -> bool:
    """Whether the workflow says more than the reference: a file of its own, or a hash."""
    from ..workflow import ModelEntry

    return isinstance(need, ModelEntry) or need.sha256 is not None


def _wait(future: concurrent.futures.Future[Any], tick: Any = None) -> Any:
    """Wait for work on the server loop, checking ComfyUI's Cancel between steps.

    An interrupt stops the waiting only: a download carries on for the next run.
    """
    try:
        while True:
            try:
                return future.result(timeout=WAIT_STEP)
            except concurrent.futures.TimeoutError:
                if tick is not None:
                    tick()
                comfy.check_interrupted()
    finally:
        future.cancel()


def app_target(folder: str) -> Path:
    return Path(comfy.running_app().service.layout.target_dir(folder))
