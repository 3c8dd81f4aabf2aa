from __future__ import annotations

import pytest

from comfyui_phoenix.errors import ConfigError
from comfyui_phoenix.settings import load_settings, parse_rate, split_list


def test_unset_variables_fetch_nothing() -> None:
    settings = load_settings({})
    assert settings.hf_repos_to_download == ""
    assert settings.engine == "auto"
    assert settings.max_concurrent_downloads == 3
    assert settings.max_download_rate is None
    assert not settings.container
    assert settings.runtime_dir is None


def test_container_defaults() -> None:
    settings = load_settings({"PHOENIX_CONTAINER": "1"})
    assert settings.container
    assert settings.comfy_auth
    assert str(settings.runtime_dir) == "/dev/shm/phoenix"


@pytest.mark.parametrize(
    ("text", "expected"),
    [("50MB", 50_000_000), ("1.5G", 1_500_000_000), ("800KiB", 819_200), ("10mb/s", 10_000_000)],
)
def test_rates(text: str, expected: int) -> None:
    assert parse_rate(text) == expected
    assert load_settings({"PHOENIX_MAX_DOWNLOAD_RATE": text}).max_download_rate == expected


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("PHOENIX_MAX_DOWNLOAD_RATE", "fast"),
        ("PHOENIX_ENGINE", "wget"),
        ("PHOENIX_MAX_CONCURRENT_DOWNLOADS", "0"),
        ("PHOENIX_CIVITAI_BASE_URL", "civitai.com"),
    ],
)
def test_bad_values_name_the_variable(name: str, value: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings({name: value})
    assert name in str(info.value)
    assert "for example" in str(info.value)


def test_bad_token_value_never_echoed() -> None:
    # A secret field is never shown back, even when its variable is named in an error.
    settings = load_settings({"HF_TOKEN": "hf_secret_value"})
    assert "hf_secret_value" not in repr(settings)


def test_token_aliases_and_blank_tokens() -> None:
    assert load_settings({"HUGGINGFACE_TOKEN": "abcd1234"}).hf_token is not None
    assert load_settings({"HF_TOKEN": "  "}).hf_token is None


def test_lists_split_on_commas_spaces_and_newlines() -> None:
    assert split_list("a/b, c/d\n civitai:1\t2") == ["a/b", "c/d", "civitai:1", "2"]
    assert split_list("") == []
    hosts = load_settings({"PHOENIX_ALLOWED_HOSTS": "Cdn.Example.com, *.example.org"}).allowed_hosts
    assert hosts == ("cdn.example.com", "*.example.org")


def test_the_process_environment_is_read_like_a_mapping(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PHOENIX_ALLOWED_HOSTS", "127.0.0.1, cdn.example.com")
    monkeypatch.setenv("PHOENIX_MAX_DOWNLOAD_RATE", "10MB")
    settings = load_settings()
    assert settings.allowed_hosts == ("127.0.0.1", "cdn.example.com")
    assert settings.max_download_rate == 10_000_000
