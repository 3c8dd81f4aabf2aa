"""Phoenix's settings: every environment variable in one validated model.

Read once (``Settings()``) at the edge of the program and passed in; tests build
``Settings(models_dir=..., ...)`` directly instead of patching the environment.
A bad value raises :class:`~comfyui_phoenix.errors.ConfigError` naming the
variable and showing a valid example.

The seed's ``HF_REPOS_TO_DOWNLOAD=black-forest-labs/FLUX.1-dev`` default belongs
to the container image, not here: on a local install an unset variable fetches
nothing.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from .errors import ConfigError

DEFAULT_CIVITAI_BASE_URL = "https://civitai.com"
DEFAULT_HF_ENDPOINT = "https://huggingface.co"
CONTAINER_RUNTIME_DIR = Path("/dev/shm/phoenix")  # noqa: S108 - tmpfs on purpose: secrets never touch disk

_LIST_SPLIT = re.compile(r"[\s,]+")
_RATE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(i?)(b?)(?:/s)?\s*$", re.IGNORECASE)
_UNITS = {"": 0, "k": 1, "m": 2, "g": 3, "t": 4}

_EXAMPLES = {
    "PHOENIX_MAX_DOWNLOAD_RATE": "50MB (bytes per second; K, M, G, and KiB-style units work)",
    "PHOENIX_MAX_CONCURRENT_DOWNLOADS": "3 (a whole number from 1 to 32)",
    "PHOENIX_ENGINE": "auto, aria2 or python",
    "PHOENIX_T5": "auto, fp16 or fp8",
    "PHOENIX_FLUX_PRECISION": "auto, bf16, fp8 or nvfp4",
    "PHOENIX_CIVITAI_BASE_URL": "https://civitai.com",
    "HF_ENDPOINT": "https://huggingface.co",
    "PHOENIX_ALLOWED_HOSTS": "cdn.example.com,*.example.org",
}


def split_list(text: str | None) -> list[str]:
    """Split a list written with commas, whitespace or newlines; empty items vanish."""
    if not text:
        return []
    return [item for item in _LIST_SPLIT.split(text.strip()) if item]


def parse_rate(text: str) -> int:
    """Parse a bandwidth such as ``50MB``, ``1.5G`` or ``800KiB`` into bytes per second."""
    match = _RATE.match(text)
    if not match:
        raise ValueError(f"{text!r} is not a rate")
    number, unit, binary, _ = match.groups()
    base = 1024 if binary else 1000
    value = int(float(number) * base ** _UNITS[unit.lower()])
    if value <= 0:
        raise ValueError("the rate must be above zero")
    return value


def _bool_env(name: str) -> Any:
    return Field(default=False, validation_alias=name)


class Settings(BaseSettings):
    """All settings. Field aliases are the environment variable names (README, CONTRACT)."""

    model_config = SettingsConfigDict(
        env_file=None,
        extra="ignore",
        populate_by_name=True,
        case_sensitive=True,
        frozen=True,
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Values come only from :func:`load_settings` (or a test's keywords).

        pydantic-settings' own environment source would JSON-decode list-like
        variables such as ``PHOENIX_ALLOWED_HOSTS`` before any validator runs.
        """
        return (init_settings,)

    # -- seed variables -------------------------------------------------------------
    debug_mode: bool = _bool_env("DEBUG_MODE")
    hf_token: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("HF_TOKEN", "HUGGINGFACE_TOKEN", "hf_token")
    )
    civitai_token: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("CIVITAI_TOKEN", "civitai_token")
    )
    hf_repos_to_download: str = Field(default="", validation_alias="HF_REPOS_TO_DOWNLOAD")
    civitai_checkpoints_to_download: str = Field(
        default="", validation_alias="CIVITAI_CHECKPOINTS_TO_DOWNLOAD"
    )
    civitai_loras_to_download: str = Field(default="", validation_alias="CIVITAI_LORAS_TO_DOWNLOAD")
    civitai_vaes_to_download: str = Field(default="", validation_alias="CIVITAI_VAES_TO_DOWNLOAD")
    civitai_embeddings_to_download: str = Field(
        default="", validation_alias="CIVITAI_EMBEDDINGS_TO_DOWNLOAD"
    )
    extra_python_packages: str = Field(default="", validation_alias="EXTRA_PYTHON_PACKAGES")
    comfy_custom_node_git_urls: str = Field(
        default="", validation_alias="COMFY_CUSTOM_NODE_GIT_URLS"
    )
    fb_username: str = Field(default="admin", validation_alias="FB_USERNAME")
    fb_password: SecretStr | None = Field(default=None, validation_alias="FB_PASSWORD")
    use_volume: bool = _bool_env("USE_VOLUME")
    paranoid_mode: bool = _bool_env("PARANOID_MODE")

    # -- Phoenix's own --------------------------------------------------------------------
    models_to_download: str = Field(default="", validation_alias="PHOENIX_MODELS_TO_DOWNLOAD")
    manifest: Path | None = Field(default=None, validation_alias="PHOENIX_MANIFEST")
    models_dir: Path | None = Field(default=None, validation_alias="PHOENIX_MODELS_DIR")
    civitai_base_url: str = Field(
        default=DEFAULT_CIVITAI_BASE_URL, validation_alias="PHOENIX_CIVITAI_BASE_URL"
    )
    hf_endpoint: str = Field(default=DEFAULT_HF_ENDPOINT, validation_alias="HF_ENDPOINT")
    engine: Literal["auto", "aria2", "python"] = Field(
        default="auto", validation_alias="PHOENIX_ENGINE"
    )
    max_concurrent_downloads: int = Field(
        default=3, ge=1, le=32, validation_alias="PHOENIX_MAX_CONCURRENT_DOWNLOADS"
    )
    max_download_rate: int | None = Field(
        default=None, validation_alias="PHOENIX_MAX_DOWNLOAD_RATE"
    )
    t5: Literal["auto", "fp16", "fp8"] = Field(default="auto", validation_alias="PHOENIX_T5")
    #: The precision of the FLUX files a whole-repository plan picks (T5 aside: ``PHOENIX_T5``).
    #: ``auto``: NVFP4 on Blackwell with a CUDA 13 torch, fp8 on Ada/Hopper, bf16 elsewhere
    #: while the transformer fits the GPU; an explicit value wins where the file is published.
    flux_precision: Literal["auto", "bf16", "fp8", "nvfp4"] = Field(
        default="auto", validation_alias="PHOENIX_FLUX_PRECISION"
    )
    #: A JSON file that replaces the FLUX catalog shipped with Phoenix (same format), so a
    #: file renamed upstream can be followed before a Phoenix release.
    flux_catalog: Path | None = Field(default=None, validation_alias="PHOENIX_FLUX_CATALOG")
    allowed_hosts: tuple[str, ...] = Field(default=(), validation_alias="PHOENIX_ALLOWED_HOSTS")
    allow_private_networks: bool = _bool_env("PHOENIX_ALLOW_PRIVATE_NETWORKS")
    api_token: SecretStr | None = Field(default=None, validation_alias="PHOENIX_API_TOKEN")
    container: bool = Field(default=False, validation_alias="PHOENIX_CONTAINER")
    runtime_dir_setting: Path | None = Field(default=None, validation_alias="PHOENIX_RUNTIME_DIR")
    comfy_auth_setting: bool | None = Field(default=None, validation_alias="COMFY_AUTH")
    comfy_username: str | None = Field(default=None, validation_alias="COMFY_USERNAME")
    comfy_password: SecretStr | None = Field(default=None, validation_alias="COMFY_PASSWORD")
    comfyui_args: str = Field(default="", validation_alias="COMFYUI_ARGS")
    cpu_mode: bool = _bool_env("PHOENIX_CPU_MODE")

    @field_validator("max_download_rate", mode="before")
    @classmethod
    def _rate(cls, value: Any) -> Any:
        if value is None or isinstance(value, int):
            return value
        text = str(value).strip()
        if text.lower() in ("", "0", "none", "unlimited"):
            return None
        return parse_rate(text)

    @field_validator("flux_catalog", mode="before")
    @classmethod
    def _empty_path_is_none(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("allowed_hosts", mode="before")
    @classmethod
    def _hosts(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(host.lower() for host in split_list(value))
        return value

    @field_validator("civitai_base_url", "hf_endpoint")
    @classmethod
    def _base_url(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if not re.match(r"^https?://[^/\s]+(/[^\s]*)?$", value):
            raise ValueError(f"{value!r} is not an http(s) URL")
        return value

    @field_validator("hf_token", "civitai_token", "api_token", "fb_password", "comfy_password")
    @classmethod
    def _empty_secret_is_none(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().strip():
            return None
        return value

    # -- derived ----------------------------------------------------------------------------
    @property
    def runtime_dir(self) -> Path | None:
        """Where the bootstrap hands over secrets and its boot report."""
        if self.runtime_dir_setting is not None:
            return self.runtime_dir_setting
        return CONTAINER_RUNTIME_DIR if self.container else None

    @property
    def comfy_auth(self) -> bool:
        """The login gate in front of ComfyUI: on by default in the container only."""
        return self.container if self.comfy_auth_setting is None else self.comfy_auth_setting


def load_settings(environ: dict[str, str] | None = None, **overrides: Any) -> Settings:
    """Read settings from ``environ`` (default: the process environment) plus overrides.

    Raises:
        ConfigError: naming the first invalid variable and a valid example.
    """
    source = dict(os.environ) if environ is None else environ
    try:
        return Settings(**{**_known_env(source), **overrides})
    except ValidationError as exc:
        raise _config_error(exc) from None


def _known_env(environ: dict[str, str]) -> dict[str, str]:
    names = set()
    for field in Settings.model_fields.values():
        alias = field.validation_alias
        if isinstance(alias, str):
            names.add(alias)
        elif isinstance(alias, AliasChoices):
            names.update(a for a in alias.choices if isinstance(a, str))
    return {k: v for k, v in environ.items() if k in names}


def _config_error(exc: ValidationError) -> ConfigError:
    first = exc.errors()[0]
    variable = str(first["loc"][0]) if first["loc"] else "a setting"
    reason = first["msg"].removeprefix("Value error, ")
    example = _EXAMPLES.get(variable)
    hint = (
        f"Set {variable} to a valid value, for example {example}."
        if example
        else (f"Fix or unset {variable}.")
    )
    # The input value is left out on purpose: it may be a token.
    return ConfigError(f"{variable} is invalid: {reason}.", hint=hint)
