"""A workflow's models, asked for by the panel: what it needs, and fetching what is missing.

``POST workflow/plan`` ``{"workflow": {…}}`` answers with each need (its ``models``
lists, Phoenix nodes' references) and its state: present, missing, gated or a problem.
``POST workflow/fetch`` queues every missing file and answers with the jobs beside the plan.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict

from ..jobs.workflow_plan import WorkflowPlan, WorkflowPlanner
from ..workflow import read_workflow
from .deferred import WORKFLOW_ROUTES
from .routes import Handler, handles_errors, json_body, phoenix
from .workflow_nodes import phoenix_node_specs

#: A workflow is larger than a list of references: big graphs run to a few megabytes.
MAX_WORKFLOW_BODY = 8 << 20


class WorkflowBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    workflow: dict[str, Any]


async def _workflow_plan(request: web.Request) -> WorkflowPlan:
    body = WorkflowBody.model_validate(await json_body(request, MAX_WORKFLOW_BODY))
    needs = read_workflow(body.workflow, phoenix_node_specs())
    return await WorkflowPlanner(phoenix(request).service.manager.planner).plan(needs)


async def plan_workflow(request: web.Request) -> web.Response:
    """What a workflow needs (its ``models`` lists, Phoenix nodes' references), each's state."""
    plan = await _workflow_plan(request)
    return web.json_response(plan.to_dict())


async def fetch_workflow(request: web.Request) -> web.Response:
    """Queue every file a workflow needs that is not here; the plan comes back beside the jobs."""
    plan = await _workflow_plan(request)
    manager = phoenix(request).service.manager
    jobs = [manager.submit_item(item, origin="workflow") for item in plan.missing]
    return web.json_response({"jobs": [j.to_dict() for j in jobs], **plan.to_dict()}, status=202)


#: Each workflow route's handler by name (:data:`.deferred.WORKFLOW_ROUTES` says which path).
HANDLERS: dict[str, Handler] = {
    name: handles_errors(globals()[name]) for _method, _path, name in WORKFLOW_ROUTES
}
