"""The bootstrap's parts on their own: storage, handoff, FileBrowser, installs, flags, supervision."""

from __future__ import annotations

import asyncio
import io
import json
import os
import signal
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import CANARY_CIVITAI, CANARY_HF
from stand_ins.harness import make_repo

from bootstrap import filebrowser as fb
from bootstrap.cleanup import exit_mode, exit_roots
from bootstrap.comfyui import fp8_evidence, plan_launch
from bootstrap.console import BootLog
from bootstrap.handoff import build_handoff, child_environment, write_handoff
from bootstrap.installs import install_custom_nodes, install_packages, package_problem
from bootstrap.paths import BootOptions, BootPaths
from bootstrap.process import RunAs, Service, ServiceSpec
from bootstrap.report import BootReport
from bootstrap.storage import (
    StorageLayout,
    VolumeInfo,
    extra_model_paths_yaml,
    plan_storage,
    prepare_folders,
    write_storage_files,
)
from bootstrap.tmpfs import paranoid_storage
from comfyui_phoenix.errors import ConfigError
from comfyui_phoenix.gpu_check import DoctorReport
from comfyui_phoenix.runtime import read_runtime_env
from comfyui_phoenix.security.cleanup import (
    CleanupRoots,
    StorageMode,
    execute_plan,
    plan_cleanup,
)
from comfyui_phoenix.security.redact import SecretRegistry
from comfyui_phoenix.security.secrets import verify_password
from comfyui_phoenix.settings import Settings, load_settings

STAND_INS = Path(__file__).parent / "stand_ins"


@pytest.fixture
def paths(tmp_path: Path) -> BootPaths:
    return BootPaths.from_env(
        {
            "PHOENIX_BOOT_ROOT": str(tmp_path / "root"),
            "PHOENIX_BOOT_COMFYUI_DIR": str(tmp_path / "ComfyUI"),
            "PHOENIX_BOOT_COMFYUI_PYTHON": str(STAND_INS / "python"),
        }
    )


def settings(**env: str) -> Settings:
    return load_settings({"PHOENIX_CONTAINER": "1", **env})


# -- storage -----------------------------------------------------------------------------------


def test_volume_layout_keeps_user_data_on_the_volume(paths: BootPaths) -> None:
    layout = plan_storage(settings(USE_VOLUME="true"), paths, VolumeInfo(True, True, 10**12))
    assert layout.mode == "volume" and not layout.notes
    for folder in (layout.models, layout.input, layout.output, layout.user):
        assert folder.parent == paths.workspace
    assert layout.temp_parent == paths.ephemeral_root  # temp never persists


def test_without_use_volume_nothing_touches_the_workspace(paths: BootPaths) -> None:
    layout = plan_storage(settings(), paths, VolumeInfo(True, True, 10**12))
    assert layout.mode == "ephemeral"
    assert all(paths.workspace not in f.parents for f in layout.folders())


def test_use_volume_without_a_volume_says_so(paths: BootPaths) -> None:
    layout = plan_storage(settings(USE_VOLUME="true"), paths, VolumeInfo(False, False, None))
    assert layout.mode == "ephemeral"
    assert "Attach a volume at /workspace" in layout.notes[0]


@pytest.mark.parametrize("shm_is_large", [True, False])
def test_paranoid_mode_uses_shm_only_when_it_is_large_enough(
    paths: BootPaths, shm_is_large: bool
) -> None:
    paths.shm.mkdir(parents=True)
    # /dev/shm's size is the host's choice: ask for 1 byte, or for more than any disk has.
    need = 1 if shm_is_large else 10**18
    shm = paranoid_storage(paths.shm, need, check_tmpfs=False)
    layout = plan_storage(
        settings(PARANOID_MODE="true"), paths, VolumeInfo(False, False, None), shm
    )
    assert layout.user_data_on_tmpfs is shm_is_large
    on_shm = [paths.shm in folder.parents for folder in (layout.input, layout.output, layout.user)]
    assert on_shm == [shm_is_large] * 3
    assert (paths.shm in layout.temp.parents) is shm_is_large
    if shm_is_large:
        assert not layout.notes and "never reach a disk" in str(layout.paranoid)
    else:
        assert layout.notes == (layout.paranoid,)
        assert "PARANOID_MODE=true, but" in layout.notes[0] and "needed" in layout.notes[0]


def test_a_models_folder_outside_the_data_root_is_left_alone_at_exit(paths: BootPaths) -> None:
    elsewhere = paths.root / "mnt" / "models"
    chosen = settings(PHOENIX_MODELS_DIR=str(elsewhere))
    layout = plan_storage(chosen, paths, VolumeInfo(False, False, None))
    assert layout.models == elsewhere and not layout.models_cleanable
    assert "left in place when the pod stops" in layout.notes[0]
    roots = exit_roots(paths, layout, user="sduser", environ={})
    assert roots.models_dir is None and roots.comfy_output == layout.output
    # The panel and a terminal 'phoenix cleanup' read runtime.env: they keep it too.
    write_storage_files(layout, paths, chosen, user="sduser", environ={})
    terminal = {**read_runtime_env(paths.runtime_env), "HOME": str(paths.root / "root")}
    assert terminal["PHOENIX_MODELS_CLEANABLE"] == "0"
    from_terminal = CleanupRoots.from_environment(
        terminal, load_settings(terminal), models_dir=elsewhere
    )
    assert from_terminal == roots
    plan = plan_cleanup(from_terminal, exit_mode(layout, paranoid=False), container=True)
    assert not [e for e in plan.removals if elsewhere in (e.path, *e.path.parents)]


def test_extra_model_paths_puts_the_models_root_first(paths: BootPaths) -> None:
    layout = plan_storage(settings(USE_VOLUME="true"), paths, VolumeInfo(True, True, 1))
    config = yaml.safe_load(extra_model_paths_yaml(layout))
    main = config["phoenix"]
    assert main["base_path"] == str(paths.workspace / "models")
    assert main["is_default"] is True
    for folder in ("diffusion_models", "text_encoders", "vae", "loras", "checkpoints"):
        assert main[folder] == folder
    assert "unet" not in main and "clip" not in main  # modern names only for new files
    assert config["phoenix_legacy_folders"]["diffusion_models"] == "unet"


def test_storage_files_are_idempotent_and_secret_free(paths: BootPaths) -> None:
    layout = plan_storage(settings(HF_TOKEN=CANARY_HF), paths, VolumeInfo(False, False, None))
    for _ in range(2):
        prepare_folders(layout, owner=None)
        write_storage_files(layout, paths, settings(HF_TOKEN=CANARY_HF), user="sduser", environ={})
    assert (layout.models / "text_encoders").is_dir()
    for path in (paths.runtime_env, paths.extra_model_paths):
        assert stat.S_IMODE(path.stat().st_mode) == 0o644
        assert CANARY_HF not in path.read_text()
    env = subprocess.run(
        ["bash", "-c", f"set -a; . {paths.runtime_env}; echo $PHOENIX_MODELS_DIR"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert env.stdout.strip() == str(layout.models)


def test_a_terminal_phoenix_reads_back_the_models_folder_the_bootstrap_wrote(
    paths: BootPaths, tmp_path: Path
) -> None:
    odd = paths.root / "mnt" / "my models (Kim's)"
    chosen = settings(PHOENIX_MODELS_DIR=str(odd))
    layout = plan_storage(chosen, paths, VolumeInfo(False, False, None))
    write_storage_files(layout, paths, chosen, user="sduser", environ={})
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "PHOENIX_RUNTIME_ENV": str(paths.runtime_env),
    }
    done = subprocess.run(
        [sys.executable, "-m", "comfyui_phoenix.surfaces.cli", "status", "--json"],
        env=env, capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    assert json.loads(done.stdout)["models_root"] == str(odd)


# -- secrets handoff ------------------------------------------------------------------------------


def test_child_environment_drops_every_secret() -> None:
    environ = {
        "PATH": "/usr/bin",
        "HF_TOKEN": CANARY_HF,
        "HUGGINGFACE_TOKEN": CANARY_HF,
        "CIVITAI_TOKEN": CANARY_CIVITAI,
        "PHOENIX_API_TOKEN": "api-secret",
        "FB_PASSWORD": "pw",
        "FB_USERNAME": "admin",
        "COMFY_PASSWORD": "pw",
        "RUNPOD_API_KEY": "rk",
        "MY_COPY": CANARY_CIVITAI,  # a template that copied a token under another name
        "PHOENIX_BOOT_ROOT": "/tmp/x",
        "USE_VOLUME": "true",
    }
    env = child_environment(environ, secret_values=[CANARY_CIVITAI], extra={"HOME": "/home/u"})
    assert env == {"PATH": "/usr/bin", "USE_VOLUME": "true", "HOME": "/home/u"}


def test_handoff_file_is_private_and_holds_only_a_password_hash(tmp_path: Path) -> None:
    handoff = build_handoff(
        settings(HF_TOKEN=CANARY_HF, FB_USERNAME="ada"), gate_password="correct horse"
    )
    assert handoff.api_token_generated and len(handoff.api_token) >= 40
    target = tmp_path / "runtime" / "secrets.json"
    write_handoff(target, handoff, owner=None)
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    data = json.loads(target.read_text())
    assert set(data) == {"huggingface", "api_token", "comfy_username", "comfy_password_hash"}
    assert data["comfy_username"] == "ada"
    assert "correct horse" not in target.read_text()
    assert verify_password(data["comfy_password_hash"], "correct horse")
    assert not verify_password(data["comfy_password_hash"], "wrong")


def test_given_api_token_is_used_as_is() -> None:
    handoff = build_handoff(settings(PHOENIX_API_TOKEN="t" * 32), gate_password=None)
    assert handoff.api_token == "t" * 32 and not handoff.api_token_generated
    assert "comfy_password_hash" not in handoff.as_file()


# -- FileBrowser ------------------------------------------------------------------------------------


def test_generated_password_is_strong_and_hashes_for_filebrowser() -> None:
    import bcrypt

    credentials = fb.choose_credentials(settings())
    assert credentials.generated and len(credentials.password) >= fb.MIN_PASSWORD_LENGTH
    assert credentials.password not in repr(credentials)
    hashed = fb.bcrypt_hash(credentials.password)
    assert bcrypt.checkpw(credentials.password.encode(), hashed.encode())
    record = json.loads(fb.users_file_text("admin", hashed))[0]
    assert record["password"] == hashed and record["perm"]["execute"] is False


@pytest.mark.parametrize(
    ("env", "variable"),
    [({"FB_PASSWORD": "x" * 73}, "FB_PASSWORD"), ({"FB_USERNAME": "two words"}, "FB_USERNAME")],
)
def test_bad_filebrowser_credentials_name_the_variable(env: dict[str, str], variable: str) -> None:
    with pytest.raises(ConfigError) as info:
        fb.choose_credentials(settings(**env))
    assert variable in str(info.value)


# -- optional installs ----------------------------------------------------------------------------


def pip_records(records: Path) -> list[list[str]]:
    return [json.loads(p.read_text())["argv"] for p in sorted(records.glob("pip-*.json"))]


async def test_custom_nodes_clone_in_parallel_then_install_one_at_a_time(
    tmp_path: Path, paths: BootPaths, monkeypatch: pytest.MonkeyPatch
) -> None:
    records = tmp_path / "records"
    records.mkdir()
    monkeypatch.setenv("STANDIN_RECORD_DIR", str(records))
    constraints = tmp_path / "constraints.txt"
    constraints.write_text("torch==2.7.0\n")
    urls = [
        make_repo(tmp_path / "repos", "ComfyUI-Good", "numpy\n"),
        make_repo(tmp_path / "repos", "ComfyUI-Broken", "broken-package\n"),
        "https://user:secret-token@example.com/owner/Leaky.git",
        "file:///nowhere/missing.git",
    ]
    kwargs = {
        "custom_nodes": paths.custom_nodes,
        "python": paths.comfyui_python,
        "constraints": constraints,
        "env": dict(os.environ),
    }
    outcome = await install_custom_nodes(urls, **kwargs)  # type: ignore[arg-type]
    assert outcome.installed == ["ComfyUI-Good", "ComfyUI-Broken"]
    failed = dict(outcome.failed)
    assert "ResolutionImpossible" in failed["ComfyUI-Broken requirements"]
    assert "credentials" in failed["https://example.com/owner/Leaky.git"]
    assert "file:///nowhere/missing.git" in failed
    assert not (paths.custom_nodes / "missing").exists()
    assert (paths.custom_nodes / "ComfyUI-Good" / "__init__.py").is_file()
    runs = pip_records(records)
    assert len(runs) == 2
    for argv in runs:
        assert argv[argv.index("--constraint") + 1] == str(constraints)
    # Again: already cloned, nothing fetched twice.
    again = await install_custom_nodes(urls[:1], **kwargs)  # type: ignore[arg-type]
    assert again.present == ["ComfyUI-Good"] and not again.installed


async def test_extra_packages_install_one_by_one_under_constraints(
    tmp_path: Path, paths: BootPaths, monkeypatch: pytest.MonkeyPatch
) -> None:
    records = tmp_path / "records"
    records.mkdir()
    monkeypatch.setenv("STANDIN_RECORD_DIR", str(records))
    constraints = tmp_path / "constraints.txt"
    constraints.write_text("torch==2.7.0\n")
    outcome = await install_packages(
        ["rich==13.9.4", "broken-package", "--index-url=http://evil.example", "einops"],
        python=paths.comfyui_python,
        constraints=constraints,
        env=dict(os.environ),
    )
    assert outcome.installed == ["rich==13.9.4", "einops"]
    assert [item for item, _ in outcome.failed] == [
        "broken-package",
        "--index-url=http://evil.example",
    ]
    runs = pip_records(records)
    assert [argv[-1] for argv in runs] == ["rich==13.9.4", "broken-package", "einops"]
    assert all("--constraint" in argv for argv in runs)


@pytest.mark.parametrize(
    ("spec", "refused"),
    [
        ("einops", False),
        ("git+https://github.com/o/r.git", False),
        ("git+https://x:tok@github.com/o/r.git", True),
        ("-e .", True),
    ],
)
def test_package_entries_that_are_refused(spec: str, refused: bool) -> None:
    assert (package_problem(spec) is not None) is refused


# -- launch plan ------------------------------------------------------------------------------------

GPU = DoctorReport.from_dict(
    {
        "devices": [{"name": "RTX 5090", "capability": [12, 0], "vram_total": 32 << 30}],
        "torch": {"cuda": "12.8", "arch_list": ["sm_120"], "sage_version": "2.2.0"},
    }
)


def launch(paths: BootPaths, help_text: str | None = "", **env: str) -> dict[str, object]:
    layout = plan_storage(settings(**env), paths, VolumeInfo(False, False, None))
    prepare_folders(layout, owner=None)
    plan = plan_launch(
        paths=paths,
        options=BootOptions(),
        layout=layout,
        settings=settings(**env),
        gpu=GPU,
        help_text=help_text,
    )
    return plan.to_dict()


def test_fp8_weights_already_on_the_volume_count(paths: BootPaths) -> None:
    layout = plan_storage(settings(), paths, VolumeInfo(False, False, None))
    prepare_folders(layout, owner=None)
    assert fp8_evidence(settings(), layout) is None
    (layout.models / "diffusion_models" / "flux1-dev-fp8-e4m3fn.safetensors").touch()
    assert fp8_evidence(settings(), layout) == (
        "diffusion_models/flux1-dev-fp8-e4m3fn.safetensors is on the models volume"
    )


def test_without_help_text_nothing_is_dropped_and_user_args_come_last(paths: BootPaths) -> None:
    plan = launch(paths, None, COMFYUI_ARGS="--preview-method auto --lowvram", PARANOID_MODE="true")
    argv = plan["argv"]
    assert isinstance(argv, list)
    assert argv[-3:] == ["--preview-method", "auto", "--lowvram"]
    assert "--disable-metadata" in argv  # PARANOID_MODE: no workflow in images
    assert "--use-sage-attention" in argv
    assert plan["dropped"] == []


# -- exit cleanup, report, log ------------------------------------------------------------------------


STORAGE_MODES = {
    "ephemeral": {},
    "volume": {"USE_VOLUME": "true"},
    "paranoid-volume": {"USE_VOLUME": "true", "PARANOID_MODE": "true"},
}


def _boot_layout(paths: BootPaths, env: dict[str, str]) -> StorageLayout:
    paths.workspace.mkdir(parents=True, exist_ok=True)
    paths.shm.mkdir(parents=True, exist_ok=True)
    shm = paranoid_storage(paths.shm, 1, check_tmpfs=False)
    layout = plan_storage(settings(**env), paths, VolumeInfo(True, True, 1), shm)
    prepare_folders(layout, owner=None)
    return layout


@pytest.mark.parametrize("mode", sorted(STORAGE_MODES))
def test_a_terminal_phoenix_cleanup_sees_the_same_roots_as_the_exit(
    paths: BootPaths, mode: str
) -> None:
    env = STORAGE_MODES[mode]
    environ = {"HF_HOME": str(paths.root / "hf-cache"), "PATH": "/usr/bin"}
    layout = _boot_layout(paths, env)
    write_storage_files(layout, paths, settings(**env), user="sduser", environ=environ)
    exit_side = exit_roots(paths, layout, user="sduser", environ=environ)
    # A root terminal: its own HOME and PATH over what runtime.env says.
    terminal = {**read_runtime_env(paths.runtime_env), "HOME": str(paths.root / "root")}
    terminal_settings = load_settings(terminal)
    assert CleanupRoots.from_environment(terminal, terminal_settings) == exit_side
    assert StorageMode.from_environment(terminal, terminal_settings) == exit_mode(
        layout, paranoid=terminal_settings.paranoid_mode
    )
    assert exit_side.homes == (paths.root / "root", paths.root / "home" / "sduser")
    assert paths.root / "hf-cache" in exit_side.caches
    assert exit_side.tmp_dir == paths.root / "tmp"
    assert exit_side.comfy_database == paths.comfyui_dir / "user" / "comfyui.db"


def test_the_exit_overwrites_the_secrets_handoff_then_removes_it(paths: BootPaths) -> None:
    layout = _boot_layout(paths, {})
    write_handoff(paths.secrets_file, build_handoff(settings(HF_TOKEN=CANARY_HF), None), owner=None)
    roots = exit_roots(paths, layout, user="sduser", environ={})
    plan = plan_cleanup(roots, exit_mode(layout, paranoid=False), container=True)
    (holder,) = [
        e for e in plan.removals if e.path in (paths.secrets_file, *paths.secrets_file.parents)
    ]
    assert holder.path == paths.runtime_dir and holder.category == "secrets"
    assert holder.action == "overwrite+empty"
    inode = os.open(paths.secrets_file, os.O_RDONLY)
    try:
        size = os.fstat(inode).st_size
        report = execute_plan(plan)
        assert os.pread(inode, size, 0) == bytes(size)  # zeros reached the file before unlink
    finally:
        os.close(inode)
    assert report.ok and report.overwritten >= 1
    assert not paths.secrets_file.exists()
    assert paths.runtime_dir.is_dir()  # emptied, not removed: the report is written there last


def test_without_a_layout_the_exit_names_no_user_data(paths: BootPaths) -> None:
    roots = exit_roots(paths, None, user="sduser", environ={})
    assert roots.runtime_dir == paths.runtime_dir and roots.tmp_dir == paths.tmp_dir
    assert (roots.comfy_output, roots.comfy_database, roots.models_dir) == (None, None, None)
    assert exit_mode(None, paranoid=True) == StorageMode(volume=False, paranoid=True)


def test_report_never_holds_a_secret_and_is_replaced_atomically(tmp_path: Path) -> None:
    registry = SecretRegistry()
    registry.add(CANARY_HF)
    report = BootReport(tmp_path / "boot-report.json", registry)
    report.declare_steps([("settings", "Settings")])
    report.step_started("settings")
    report.step_done("settings", "failed", f"oops {CANARY_HF}")
    text = (tmp_path / "boot-report.json").read_text()
    assert CANARY_HF not in text and "oops ***" in text
    assert not list(tmp_path.glob(".*.tmp"))
    assert stat.S_IMODE((tmp_path / "boot-report.json").stat().st_mode) == 0o644


def test_log_masks_secrets_and_colours_only_terminals() -> None:
    registry = SecretRegistry()
    registry.add(CANARY_CIVITAI)
    stream = io.StringIO()
    log = BootLog(stream, registry=registry)
    log.ok("secrets", f"token {CANARY_CIVITAI}")
    log.debug("secrets", "detail")
    log.announce_once("FileBrowser password", "s3cret-shown-once")
    text = stream.getvalue()
    assert CANARY_CIVITAI not in text and "\033[" not in text
    assert "detail" not in text
    assert text.count("s3cret-shown-once") == 1
    coloured = io.StringIO()
    BootLog(coloured, colour=True, debug=True).debug("x", "detail")
    assert "\033[2m" in coloured.getvalue()


# -- supervision ------------------------------------------------------------------------------------


async def test_a_service_that_keeps_crashing_is_given_up(tmp_path: Path) -> None:
    states: list[dict[str, object]] = []
    spec = ServiceSpec(
        name="crasher",
        argv=[sys.executable, "-c", "raise SystemExit(7)"],
        env=dict(os.environ),
        cwd=tmp_path,
        run_as=RunAs(name="me"),
        max_restarts=2,
        backoff_base=0.01,
    )
    service = Service(spec, BootLog(io.StringIO()), lambda _name, fields: states.append(fields))
    service.start()
    await service.finished()
    assert service.gave_up and service.restarts == 2
    assert states[-1] == {"state": "failed", "exit_code": 7, "ready": False}


def _sleeper(tmp_path: Path, name: str = "sleeper") -> ServiceSpec:
    return ServiceSpec(
        name=name,
        argv=["sleep", "30"],
        env=dict(os.environ),
        cwd=tmp_path,
        run_as=RunAs(name="me"),
    )


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


async def test_stop_during_the_first_start_ends_the_new_child(tmp_path: Path) -> None:
    states: list[dict[str, object]] = []
    service = Service(
        _sleeper(tmp_path), BootLog(io.StringIO()), lambda _name, fields: states.append(fields)
    )
    service.start()
    await asyncio.sleep(0)  # the supervisor is now inside create_subprocess_exec
    took = await asyncio.wait_for(service.stop(2), 10)
    assert took < 5, "stop() waited for a child it never signalled"
    assert service.pid is not None and not _alive(service.pid)
    assert service.finished().done()
    assert states[-1]["state"] == "stopped"


async def test_stop_ends_a_child_that_ignores_its_stop_signal(tmp_path: Path) -> None:
    spec = _sleeper(tmp_path, "stubborn")
    spec.stop_signal = signal.SIGWINCH  # ignored from birth: no race with a trap
    service = Service(spec, BootLog(io.StringIO()), lambda _name, _fields: None)
    service.start()
    await asyncio.sleep(0)
    took = await asyncio.wait_for(service.stop(0.5), 10)
    assert 0.4 < took < 5, "SIGKILL after the grace period"
    assert service.pid is not None and not _alive(service.pid)


# -- image build helpers and the RunPod template --------------------------------------------------


def test_constraints_freeze_installed_versions_only() -> None:
    from importlib.metadata import version

    from bootstrap.image import constraints

    text = constraints(["pytest", "no-such-package-anywhere"])
    assert text == f"pytest=={version('pytest')}\n"


def test_check_arch_fails_without_the_kernels(tmp_path: Path) -> None:
    fake = tmp_path / "python"
    fake.write_text("#!/bin/sh\necho sm_80 sm_86 sm_90\n")
    fake.chmod(0o755)
    from bootstrap.image import missing_arches

    assert missing_arches(["sm_90", "sm_120"], python=str(fake)) == ["sm_120"]


def test_runpod_template_documents_every_setting() -> None:
    template = json.loads((Path(__file__).parents[1] / "runpod-template.json").read_text())
    assert template["ports"] == "7860/http,8080/http"
    assert template["volumeMountPath"] == "/workspace"
    assert template["env"]["HF_REPOS_TO_DOWNLOAD"] == "black-forest-labs/FLUX.1-dev"
    documented = {v["key"] for v in template["phoenix"]["variables"]}
    for field in Settings.model_fields.values():
        alias = field.validation_alias
        names = [alias] if isinstance(alias, str) else list(getattr(alias, "choices", []))
        upper = {n for n in names if isinstance(n, str) and n.isupper()}
        if upper and not upper & documented and "PHOENIX_CONTAINER" not in upper:
            raise AssertionError(f"{sorted(upper)} missing from runpod-template.json")
    assert set(template["env"]) <= documented
