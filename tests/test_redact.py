"""Secrets never reach a log line, whichever logger writes it."""

from __future__ import annotations

import io
import logging

from conftest import CANARY_CIVITAI, CANARY_HF

from comfyui_phoenix.security.redact import SecretRegistry, install_redaction, redact_url


def _logger_with_stream() -> tuple[logging.Handler, io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logging.getLogger().addHandler(handler)
    return handler, stream


def test_every_logger_is_masked_once_the_root_handlers_have_the_filter() -> None:
    registry = SecretRegistry()
    registry.add(CANARY_HF, CANARY_CIVITAI)
    handler, stream = _logger_with_stream()
    try:
        install_redaction(registry)
        install_redaction(registry)  # idempotent: one filter per handler
        assert sum(1 for f in handler.filters if type(f).__name__ == "RedactingFilter") == 1
        logging.getLogger("some.custom_node").warning("token is %s", CANARY_HF)
        logging.getLogger("aiohttp.client").error("GET https://x/?token=%s failed", CANARY_CIVITAI)
        try:
            raise RuntimeError(f"auth with {CANARY_HF} refused")
        except RuntimeError:
            logging.getLogger("phoenix").exception("download failed")
    finally:
        logging.getLogger().removeHandler(handler)
    text = stream.getvalue()
    assert CANARY_HF not in text and CANARY_CIVITAI not in text
    assert text.count("***") >= 3 and "download failed" in text


def test_urls_lose_credentials_and_signatures() -> None:
    url = "https://user:pw@storage.example/file?X-Amz-Signature=abc123&token=secret99&part=1"
    clean = redact_url(url)
    assert "pw" not in clean and "abc123" not in clean and "secret99" not in clean
    assert "part=1" in clean and clean.startswith("https://storage.example/file")
