"""The job manager end to end: sources → engine → verified files, on local peers."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import CANARY_CIVITAI
from peers.civitai import CivitaiServer
from peers.files import FileServer
from peers.models import FLUX_TRANSFORMER, LORA, safetensors_bytes

from comfyui_phoenix.jobs.job import JobState
from comfyui_phoenix.jobs.journal import Journal
from comfyui_phoenix.jobs.preload import PreloadRun, preload_entries
from comfyui_phoenix.service import Phoenix
from comfyui_phoenix.settings import Settings

MODEL = safetensors_bytes(FLUX_TRANSFORMER, pad_to=3 << 20, seed=7)


def _link(server: FileServer, name: str) -> str:
    return f"{server.base_url}/files/{name}"  # type: ignore[attr-defined]


async def test_a_link_becomes_a_verified_file_in_its_folder(
    file_server: FileServer, make_settings: Callable[..., Settings], models_dir: Path
) -> None:
    file_server.add("flux-tiny.safetensors", MODEL)
    async with Phoenix(make_settings(engine="python")) as phoenix:
        jobs, plan = await phoenix.manager.submit(
            [_link(file_server, "flux-tiny.safetensors")], origin="test"
        )
        assert not plan.problems
        job = await phoenix.manager.wait(jobs[0].id)
    assert job.state == JobState.DONE, job.error
    placed = models_dir / "diffusion_models" / "flux-tiny.safetensors"
    assert placed.read_bytes() == MODEL
    assert not list(models_dir.rglob("*.part*"))


async def test_present_files_are_not_fetched_again(
    file_server: FileServer, make_settings: Callable[..., Settings]
) -> None:
    file_server.add("a.safetensors", MODEL)
    link = _link(file_server, "a.safetensors")
    async with Phoenix(make_settings(engine="python")) as phoenix:
        first, _ = await phoenix.manager.submit([link], origin="test")
        await phoenix.manager.wait(first[0].id)
        served = file_server.bytes_sent
        plan = await phoenix.manager.plan_refs([link])
        assert plan.items[0].present
        again, _ = await phoenix.manager.submit([link], origin="test")
        await phoenix.manager.wait(again[0].id)
    assert again[0].skipped and again[0].state == JobState.DONE
    # Planning again reads only the safetensors header (to choose the folder), never the file.
    assert file_server.bytes_sent - served < 64 << 10


async def test_the_same_file_asked_twice_is_one_job(
    file_server: FileServer, make_settings: Callable[..., Settings]
) -> None:
    file_server.per_connection_rate = 4 << 20
    file_server.add("b.safetensors", MODEL)
    link = _link(file_server, "b.safetensors")
    async with Phoenix(make_settings(engine="python")) as phoenix:
        (one, _), (two, _) = await asyncio.gather(
            phoenix.manager.submit([link], origin="panel"),
            phoenix.manager.submit([link], origin="node"),
        )
        assert one[0] is two[0]
        await phoenix.manager.wait(one[0].id)
    assert file_server.bytes_sent < len(MODEL) * 1.2


async def test_two_managers_on_one_volume_transfer_once(
    file_server: FileServer, make_settings: Callable[..., Settings], models_dir: Path
) -> None:
    file_server.per_connection_rate = 4 << 20
    file_server.add("c.safetensors", MODEL)
    link = _link(file_server, "c.safetensors")
    settings = make_settings(engine="python")
    async with Phoenix(settings) as first, Phoenix(settings) as second:
        a, _ = await first.manager.submit([link], origin="cli")
        await asyncio.sleep(0.2)
        b, _ = await second.manager.submit([link], origin="cli")
        done = await asyncio.gather(first.manager.wait(a[0].id), second.manager.wait(b[0].id))
    assert [j.state for j in done] == [JobState.DONE, JobState.DONE]
    assert done[1].skipped, "the second process found the file the first one placed"
    assert file_server.bytes_sent < len(MODEL) * 1.2


async def test_pause_resume_and_cancel(
    file_server: FileServer, make_settings: Callable[..., Settings], models_dir: Path
) -> None:
    file_server.per_connection_rate = 1 << 20
    file_server.add("d.safetensors", MODEL)
    file_server.add("e.safetensors", safetensors_bytes(LORA, pad_to=3 << 20, seed=8))
    async with Phoenix(make_settings(engine="python")) as phoenix:
        manager = phoenix.manager
        (job,), _ = await manager.submit([_link(file_server, "d.safetensors")], origin="test")
        while job.done_bytes == 0:
            await asyncio.sleep(0.05)
        await manager.pause(job.id)
        assert job.state == JobState.PAUSED
        assert job.dest.with_name(job.dest.name + ".part").exists()
        file_server.per_connection_rate = None
        await manager.resume(job.id)
        await manager.wait(job.id)
        assert job.state == JobState.DONE and job.dest.read_bytes() == MODEL

        file_server.per_connection_rate = 1 << 20
        (other,), _ = await manager.submit([_link(file_server, "e.safetensors")], origin="test")
        while other.done_bytes == 0:
            await asyncio.sleep(0.05)
        await manager.cancel(other.id)
    assert other.state == JobState.CANCELLED
    assert not list(models_dir.rglob("e.safetensors*"))


async def test_a_restart_resumes_unfinished_jobs(
    file_server: FileServer, make_settings: Callable[..., Settings]
) -> None:
    file_server.per_connection_rate = 1 << 20
    file_server.add("f.safetensors", MODEL)
    settings = make_settings(engine="python")
    async with Phoenix(settings) as phoenix:
        (job,), _ = await phoenix.manager.submit(
            [_link(file_server, "f.safetensors")], origin="preload"
        )
        while job.done_bytes < len(MODEL) // 3:
            await asyncio.sleep(0.05)
    # Stopped mid-transfer: the journal remembers the job, the part file holds its bytes.
    before = file_server.bytes_sent
    file_server.per_connection_rate = None
    async with Phoenix(settings) as phoenix:
        restored = await phoenix.manager.restore()
        assert [j.file.filename for j in restored] == ["f.safetensors"]
        done = await phoenix.manager.wait(restored[0].id)
    assert done.state == JobState.DONE and done.dest.read_bytes() == MODEL
    assert file_server.bytes_sent - before < len(MODEL) * 0.85, "resumed, not restarted"


async def test_a_download_finished_by_a_later_run_is_not_unfinished_any_more(
    file_server: FileServer, make_settings: Callable[..., Settings]
) -> None:
    file_server.per_connection_rate = 1 << 20
    file_server.add("h.safetensors", MODEL)
    link = _link(file_server, "h.safetensors")
    settings = make_settings(engine="python")
    async with Phoenix(settings) as phoenix:  # interrupted, as by Ctrl-C
        (job,), _ = await phoenix.manager.submit([link], origin="cli")
        while job.done_bytes == 0:
            await asyncio.sleep(0.05)
        assert [e.file.filename for e in Journal(phoenix.state).unfinished()] == ["h.safetensors"]
    file_server.per_connection_rate = None
    async with Phoenix(settings) as phoenix:  # the same fetch again, not a restore
        (again,), _ = await phoenix.manager.submit([link], origin="cli")
        assert (await phoenix.manager.wait(again.id)).state == JobState.DONE
        assert again.id != job.id
    assert Journal(phoenix.state).unfinished() == []


async def test_failures_keep_nothing_under_the_model_name(
    file_server: FileServer, make_settings: Callable[..., Settings], models_dir: Path
) -> None:
    file_server.add("g.safetensors", MODEL)
    file_server.faults("g.safetensors", html=True, repeat=True)
    async with Phoenix(make_settings(engine="python")) as phoenix:
        jobs, plan = await phoenix.manager.submit(
            [_link(file_server, "g.safetensors")], origin="test"
        )
        if jobs:
            await phoenix.manager.wait(jobs[0].id)
            assert jobs[0].state == JobState.FAILED
            assert jobs[0].error and "web page" in jobs[0].error["detail"]
        else:
            assert "web page" in str(plan.problems[0].error)
    assert not list(models_dir.rglob("g.safetensors"))


async def test_civitai_download_with_token_never_reaches_storage_with_it(
    civitai_server: CivitaiServer,
    make_settings: Callable[..., Settings],
    models_dir: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level("DEBUG")
    data = safetensors_bytes(LORA, pad_to=2 << 20, seed=9)
    civitai_server.tokens.add(CANARY_CIVITAI)
    civitai_server.add_model(
        42, "Locked Style", "LORA",
        [{"id": 420, "files": [{"id": 4200, "name": "locked_style.safetensors", "data": data,
                                "primary": True, "metadata": {"format": "SafeTensor"}}]}],
        requires_auth=True,
    )  # fmt: skip
    settings = make_settings(
        engine="python", civitai_base_url=civitai_server.url, civitai_token=CANARY_CIVITAI
    )
    async with Phoenix(settings) as phoenix:
        jobs, plan = await phoenix.manager.submit(["civitai:42"], origin="test")
        assert not plan.problems
        job = await phoenix.manager.wait(jobs[0].id)
    assert job.state == JobState.DONE, job.error
    placed = models_dir / "loras" / "locked_style.safetensors"
    assert hashlib.sha256(placed.read_bytes()).hexdigest() == hashlib.sha256(data).hexdigest()
    for request in civitai_server.storage_requests:
        assert "authorization" not in {k.lower() for k in request.headers}
        assert CANARY_CIVITAI not in request.path + request.query
    assert CANARY_CIVITAI not in caplog.text
    for path in models_dir.rglob("*"):
        if path.is_file() and path.stat().st_size < 1 << 20:
            assert CANARY_CIVITAI.encode() not in path.read_bytes()


async def test_preload_reports_bad_entries_and_fetches_the_rest(
    file_server: FileServer, make_settings: Callable[..., Settings], models_dir: Path
) -> None:
    file_server.add("h.safetensors", MODEL)
    settings = make_settings(
        engine="python",
        models_to_download=f"not a/valid/../ref, {_link(file_server, 'h.safetensors')}",
    )
    entries = preload_entries(settings)
    assert [e.variable for e in entries] == ["PHOENIX_MODELS_TO_DOWNLOAD"] * 3
    async with Phoenix(settings) as phoenix:
        run = PreloadRun(phoenix.manager, phoenix.events, entries)
        await run.run()
        for item in run.items:
            for job_id in item["jobs"]:
                await phoenix.manager.wait(job_id)
        snapshot = run.snapshot()
    statuses = [i["status"] for i in snapshot["items"]]
    assert statuses.count("failed") == 2 and statuses.count("queued") == 1
    assert all(i["error"]["hint"] for i in snapshot["items"] if i["status"] == "failed")
    assert (models_dir / "diffusion_models" / "h.safetensors").read_bytes() == MODEL


def test_unset_variables_preload_nothing(make_settings: Callable[..., Settings]) -> None:
    assert preload_entries(make_settings()) == []


async def test_a_new_job_is_announced_before_it_gets_a_slot(
    file_server: FileServer, make_settings: Callable[..., Settings]
) -> None:
    file_server.per_connection_rate = 1 << 20
    for name in ("q1.safetensors", "q2.safetensors"):
        file_server.add(name, MODEL)
    async with Phoenix(make_settings(engine="python", max_concurrent_downloads=1)) as phoenix:
        sub = phoenix.events.subscribe()
        jobs, _ = await phoenix.manager.submit(
            [_link(file_server, "q1.safetensors"), _link(file_server, "q2.safetensors")],
            origin="panel",
        )
        seen: dict[str, str] = {}
        while len(seen) < 2:
            kind, data = await asyncio.wait_for(sub.get(), 5)
            if kind == "job":
                seen.setdefault(data["id"], data["state"])
        assert set(seen) == {j.id for j in jobs}
        assert seen[jobs[1].id] == "queued"
        for job in jobs:
            await phoenix.manager.cancel(job.id)


async def test_cancelling_a_waiting_job_leaves_the_other_process_download_alone(
    file_server: FileServer, make_settings: Callable[..., Settings]
) -> None:
    file_server.per_connection_rate = 2 << 20
    file_server.add("shared.safetensors", MODEL)
    link = _link(file_server, "shared.safetensors")
    settings = make_settings(engine="python")
    async with Phoenix(settings) as first, Phoenix(settings) as second:
        (running,), _ = await first.manager.submit([link], origin="cli")
        while running.done_bytes == 0:
            await asyncio.sleep(0.05)
        (waiting,), _ = await second.manager.submit([link], origin="panel")
        while waiting.state != JobState.WAITING:
            await asyncio.sleep(0.02)
        await second.manager.cancel(waiting.id)
        file_server.per_connection_rate = None
        done = await first.manager.wait(running.id)
    assert waiting.state == JobState.CANCELLED
    assert done.state == JobState.DONE, done.error
    assert done.dest.read_bytes() == MODEL


async def test_a_record_without_this_hash_is_checked_by_reading_the_file(
    file_server: FileServer,
    hf_server: Any,
    make_settings: Callable[..., Settings],
    models_dir: Path,
) -> None:
    # First from a plain link (no hash known), then the same file from a hub that gives one.
    file_server.add("twin.safetensors", MODEL)
    hf_server.add_repo("acme/twin", {"twin.safetensors": MODEL})
    settings = make_settings(engine="python", hf_endpoint=hf_server.url)
    async with Phoenix(settings) as phoenix:
        (job,), _ = await phoenix.manager.submit(
            [_link(file_server, "twin.safetensors")], origin="test"
        )
        await phoenix.manager.wait(job.id)
        plan = await phoenix.manager.plan_refs(["acme/twin/twin.safetensors"])
    assert not plan.problems
    assert plan.items[0].present, "the bytes on disk match the hub's sha256"


async def test_a_verified_civitai_file_is_fetched_again_without_a_storage_request(
    civitai_server: CivitaiServer, make_settings: Callable[..., Settings], models_dir: Path
) -> None:
    data = safetensors_bytes(LORA, pad_to=1 << 20, seed=11)
    civitai_server.add_model(
        77, "Known Style", "LORA",
        [{"id": 770, "files": [{"id": 7700, "name": "known_style.safetensors", "data": data,
                                "primary": True, "metadata": {"format": "SafeTensor"}}]}],
    )  # fmt: skip
    settings = make_settings(engine="python", civitai_base_url=civitai_server.url)
    async with Phoenix(settings) as phoenix:
        (first,), _ = await phoenix.manager.submit(["civitai:77"], origin="test")
        assert (await phoenix.manager.wait(first.id)).state == JobState.DONE
    asked_storage = len(civitai_server.storage_requests)
    async with Phoenix(settings) as phoenix:  # a rerun, as `phoenix fetch` twice would be
        (again,), plan = await phoenix.manager.submit(["civitai:77"], origin="test")
        await phoenix.manager.wait(again.id)
    assert plan.items[0].present and again.skipped and again.state == JobState.DONE
    assert plan.items[0].file.folder == "loras" and plan.items[0].file.size == len(data)
    assert len(civitai_server.storage_requests) == asked_storage


async def test_a_verified_hub_file_is_planned_again_without_reading_its_header(
    hf_server: Any, make_settings: Callable[..., Settings], models_dir: Path
) -> None:
    hf_server.add_repo("acme/flux-style", {"style.safetensors": MODEL})
    settings = make_settings(engine="python", hf_endpoint=hf_server.url)
    async with Phoenix(settings) as phoenix:
        (first,), _ = await phoenix.manager.submit(["acme/flux-style"], origin="test")
        assert (await phoenix.manager.wait(first.id)).state == JobState.DONE
    asked_cdn = len(hf_server.cdn.requests)
    async with Phoenix(settings) as phoenix:
        plan = await phoenix.manager.plan_refs(["acme/flux-style"])
    assert plan.items[0].present
    assert plan.items[0].file.folder == "diffusion_models"  # where the header put it first
    assert len(hf_server.cdn.requests) == asked_cdn
