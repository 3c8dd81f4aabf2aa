"""The Library's routes: the models on disk, and deleting one.

``GET models`` lists every model file under each ComfyUI model folder (and any file
Phoenix placed, whatever its name), with its record: source, verified, description.
``DELETE models/{folder}/{path}`` removes one inside the models root, its record with
it, and ComfyUI's lists forget it at once; like every write, from this machine or
with ``PHOENIX_API_TOKEN`` only (:func:`.routes.require_trusted`).
"""

from __future__ import annotations

import asyncio
import logging
import os
from typing import Any

from aiohttp import web

from ..errors import NotFoundError, UnsafePathError
from ..folders import MODEL_FOLDERS, is_model_name, normalize_folder
from ..naming import contained_path
from ..security.redact import redact
from .deferred import LIBRARY_ROUTES
from .model_meta import library_meta
from .routes import Handler, handles_errors, phoenix, require_trusted

log = logging.getLogger(__name__)


async def list_models(request: web.Request) -> web.Response:
    service = phoenix(request).service
    folders = await asyncio.to_thread(_scan_models, service)
    return web.json_response({"root": str(service.layout.root), "folders": folders})


def _scan_models(service: Any) -> dict[str, list[dict[str, Any]]]:
    records = {r["relpath"]: r for r in service.state.records() if "relpath" in r}
    result: dict[str, list[dict[str, Any]]] = {}
    for folder in sorted(MODEL_FOLDERS):
        entries: list[dict[str, Any]] = []
        for base in service.layout.search_dirs(folder):
            if not base.is_dir():
                continue
            for path in sorted(base.rglob("*")):
                rel = path.relative_to(base).as_posix()
                record = records.get(f"{folder}/{rel}")
                # A file Phoenix placed is listed whatever its name, so it can be deleted.
                if not (is_model_name(path.name) or record) or not path.is_file():
                    continue
                stat = path.stat()
                entries.append(
                    {
                        "name": rel,
                        "path": str(path),
                        "size": stat.st_size,
                        "modified": stat.st_mtime,
                        "ref": record.get("ref") if record else None,
                        "source": record.get("source") if record else None,
                        "verified": bool(
                            record and record.get("verified") and record.get("size") == stat.st_size
                        ),
                        "sha256": record.get("sha256") if record else None,
                        "meta": library_meta(record, service.previews),
                    }
                )
        if entries:
            result[folder] = entries
    return result


async def delete_model(request: web.Request) -> web.Response:
    require_trusted(request)
    service = phoenix(request).service
    folder = normalize_folder(request.match_info["folder"])
    rel = request.match_info["path"]
    if folder not in MODEL_FOLDERS:
        raise UnsafePathError(f"'{folder}' is not a ComfyUI model folder.")
    if not is_model_name(rel) and service.state.get_record(f"{folder}/{rel}") is None:
        raise UnsafePathError(
            f"'{rel[:80]}' is not a model file.",
            hint="Only model files, and files Phoenix placed, can be deleted here.",
        )
    for base in service.layout.search_dirs(folder):
        target = contained_path(base, *rel.split("/"))
        if target.is_file():
            os.unlink(target)
            service.state.drop_record(f"{folder}/{rel}")
            service.layout.refresh(folder)  # no loader offers the file from now on
            log.info("deleted model %s/%s", folder, redact(rel))
            return web.json_response({"deleted": f"{folder}/{rel}"})
    raise NotFoundError(f"There is no {folder}/{rel[:120]}.", hint="Refresh the library.")


#: Each Library route's handler by name (:data:`.deferred.LIBRARY_ROUTES` says which path).
HANDLERS: dict[str, Handler] = {
    name: handles_errors(globals()[name]) for _method, _path, name in LIBRARY_ROUTES
}
