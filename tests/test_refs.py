"""The reference grammar: every form in the README, and no string that crashes it."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from comfyui_phoenix.errors import BadReferenceError, UnsafePathError
from comfyui_phoenix.naming import contained_path, safe_filename
from comfyui_phoenix.refs import CivitaiRef, Destination, HFRef, UrlRef, parse_reference

MIRROR = "http://127.0.0.1:9999"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("black-forest-labs/FLUX.1-dev", HFRef("black-forest-labs/FLUX.1-dev")),
        ("hf:owner/repo", HFRef("owner/repo")),
        ("owner/repo/dir/file.safetensors", HFRef("owner/repo", "dir/file.safetensors")),
        ("owner/repo@v1.0/file.sft", HFRef("owner/repo", "file.sft", "v1.0")),
        (
            "https://huggingface.co/owner/repo/blob/main/a/b.safetensors",
            HFRef("owner/repo", "a/b.safetensors", "main"),
        ),
        (
            "https://huggingface.co/owner/repo/resolve/abc123/x.gguf",
            HFRef("owner/repo", "x.gguf", "abc123"),
        ),
        (
            f"{MIRROR}/owner/repo/resolve/main/x.safetensors",
            HFRef("owner/repo", "x.safetensors", "main"),
        ),
        ("civitai:123", CivitaiRef(model_id=123)),
        ("civitai:123@456", CivitaiRef(model_id=123, version_id=456)),
        (
            "urn:air:flux1:lora:civitai:123@456",
            CivitaiRef(model_id=123, version_id=456, air_type="lora"),
        ),
        ("https://civitai.com/models/123", CivitaiRef(model_id=123)),
        (
            "https://civitai.com/models/123/some-slug?modelVersionId=456",
            CivitaiRef(model_id=123, version_id=456),
        ),
        (
            "https://civitai.com/api/download/models/456?type=Model&format=SafeTensor&fp=fp16",
            CivitaiRef(
                version_id=456,
                filters=(("type", "Model"), ("format", "SafeTensor"), ("fp", "fp16")),
            ),
        ),
        (
            "https://example.org/models/x.safetensors",
            UrlRef("https://example.org/models/x.safetensors"),
        ),
        (
            "civitai:123::loras/flux-styles",
            CivitaiRef(model_id=123, destination=Destination("loras", "flux-styles")),
        ),
        (
            "owner/repo/x.safetensors::unet",
            HFRef("owner/repo", "x.safetensors", destination=Destination("diffusion_models")),
        ),
    ],
)
def test_every_documented_form(text: str, expected: object) -> None:
    assert parse_reference(text, hf_endpoint=MIRROR) == expected


def test_a_mirror_claims_only_its_own_port() -> None:
    other = "http://127.0.0.1:7777/files/ae.safetensors"
    assert parse_reference(other, hf_endpoint=MIRROR) == UrlRef(other)


def test_bare_numbers_are_civitai_models_only_where_the_variable_says_so() -> None:
    assert parse_reference("123@4", numbers="civitai_model") == CivitaiRef(
        model_id=123, version_id=4
    )
    with pytest.raises(BadReferenceError) as info:
        parse_reference("123")
    assert "civitai:123" in str(info.value)


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("", "empty"),
        ("owner/repo/../../etc/passwd", "path inside the repository"),
        ("civitai:abc", "civitai:MODEL"),
        ("urn:air:sdxl:lora:huggingface:x@1", "not supported"),
        ("ftp://example.org/x.safetensors", "https"),
        ("civitai:1::notafolder", "ComfyUI model folder"),
        ("civitai:1::loras/../../x", "climbs out"),
        ("not a reference", "not a reference"),
    ],
)
def test_errors_name_the_problem(text: str, needle: str) -> None:
    with pytest.raises((BadReferenceError, UnsafePathError)) as info:
        parse_reference(text)
    assert needle in str(info.value)
    assert info.value.hint


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=300))
def test_any_string_is_a_reference_or_a_clear_error(text: str) -> None:
    try:
        ref = parse_reference(text)
    except (BadReferenceError, UnsafePathError) as exc:
        assert exc.detail.endswith((".", "…")) or exc.detail
        return
    assert ref.canonical


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                "civitai:",
                "hf:",
                "urn:air:",
                "https://",
                "civitai.com/",
                "/",
                "@",
                "::",
                "..",
                "loras",
                "123",
                "owner",
                "repo",
                "?",
                "=",
                "&",
                "\\",
                ".safetensors",
            ]
        ),
        max_size=12,
    ).map("".join)
)
def test_grammar_shaped_noise_never_crashes(text: str) -> None:
    with contextlib.suppress(BadReferenceError, UnsafePathError):
        parse_reference(text, numbers="civitai_model")


@settings(max_examples=300, deadline=None)
@given(st.text(min_size=1, max_size=120))
def test_safe_names_never_leave_their_folder(
    tmp_path_factory: pytest.TempPathFactory, name: str
) -> None:
    root = tmp_path_factory.getbasetemp() / "root"
    root.mkdir(exist_ok=True)
    try:
        clean = safe_filename(name)
    except UnsafePathError:
        return
    assert "/" not in clean and "\\" not in clean and clean not in (".", "..")
    assert contained_path(root, clean).parent == root.resolve()


@pytest.mark.parametrize(
    "name",
    ["../x", "/etc/passwd", "C:\\x", "a\x00b", "CON", "nul.safetensors", "..", ".", "x" * 300],
)
def test_hostile_names_are_refused(name: str) -> None:
    with pytest.raises(UnsafePathError):
        safe_filename(name)


@pytest.mark.parametrize(
    "link",
    [
        "https://civitai.com/api/download/models/123?token=abcdef123456",
        "https://civitai.com/models/1?modelVersionId=2&api_key=abcdef",
        "https://huggingface.co/a/b/resolve/main/x.safetensors?token=hf_abcdef",
        "https://user:secret@example.org/x.safetensors",
    ],
)
def test_links_with_credentials_are_refused_before_they_are_saved_anywhere(link: str) -> None:
    with pytest.raises(BadReferenceError) as info:
        parse_reference(link)
    assert "abcdef" not in str(info.value) and "secret" not in str(info.value)
    assert "TOKEN" in info.value.hint or "credentials" in info.value.hint
