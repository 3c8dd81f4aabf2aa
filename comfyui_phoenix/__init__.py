"""Phoenix: model acquisition, status and cleanup for ComfyUI."""

__version__ = "0.1.0"
