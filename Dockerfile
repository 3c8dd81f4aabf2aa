# syntax=docker/dockerfile:1.7
#
# Phoenix: a private FLUX workstation on a rented RTX 5090 (RunPod template).
# ComfyUI on 7860, FileBrowser on 8080, Phoenix's downloads and sidebar inside ComfyUI.
#
# Build arguments and their defaults:
#   BASE_IMAGE          nvcr.io/nvidia/pytorch:25.03-py3
#                       NVIDIA's NGC PyTorch at a dated tag (never "latest"): CUDA 12.8.1 and
#                       PyTorch 2.7 with sm_90 (H100/H200) and sm_120 (RTX 5090) kernels; its
#                       driver floor, R570, is the one Blackwell needs anyway. 25.04 and later
#                       move to CUDA 12.9 (R575), 25.08 and later to CUDA 13 (R580): hosts on
#                       older drivers would then fail the bootstrap's GPU check.
#   COMFYUI_REF         a125cd84b054a57729b5eecab930ca9408719832  (a ComfyUI commit)
#   FILEBROWSER_VERSION v2.59.0
#   FILEBROWSER_SHA256  8cd8c3baecb086028111b912f252a6e3169737fa764b5c510139e81f9da87799
#                       (linux-amd64-filebrowser.tar.gz of that release, checked with sha256sum -c)
#   WITH_XFORMERS       0  1 compiles xformers against the image's torch (PyPI wheels pull
#                          in another torch); PyTorch's attention is the fast path anyway
#   WITH_SAGEATTENTION  0  1 compiles SageAttention 2 against the image's torch; never PyPI's
#                          1.0.6, which renders black images
#   XFORMERS_REF        v0.0.30  git ref compiled when WITH_XFORMERS=1
#   SAGEATTENTION_REF   v2.2.0   git ref compiled when WITH_SAGEATTENTION=1
#
# No secret is ever a build argument or in a layer: tokens arrive at run time only.

ARG BASE_IMAGE=nvcr.io/nvidia/pytorch:25.03-py3

# ---------------------------------------------------------------------------------------------
# builder: pinned sources, checksummed binaries, wheels
# ---------------------------------------------------------------------------------------------
FROM ${BASE_IMAGE} AS builder
SHELL ["/bin/bash", "-o", "pipefail", "-c"]

ARG COMFYUI_REF=a125cd84b054a57729b5eecab930ca9408719832
ARG FILEBROWSER_VERSION=v2.59.0
ARG FILEBROWSER_SHA256=8cd8c3baecb086028111b912f252a6e3169737fa764b5c510139e81f9da87799
ARG WITH_XFORMERS=0
ARG WITH_SAGEATTENTION=0
ARG XFORMERS_REF=v0.0.30
ARG SAGEATTENTION_REF=v2.2.0

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore

WORKDIR /build

# Freeze the base image's torch stack before anything else is installed, and refuse a
# base image whose PyTorch cannot run on the GPUs this template is for.
COPY bootstrap/image.py /build/tools/image.py
RUN python /build/tools/image.py constraints > /build/constraints.txt \
    && python /build/tools/image.py check-arch sm_90 sm_120 \
    && cat /build/constraints.txt

# ComfyUI at one commit; GitHub serves a commit by its full id.
RUN git init -q /build/ComfyUI \
    && git -C /build/ComfyUI fetch -q --depth 1 https://github.com/comfyanonymous/ComfyUI.git "${COMFYUI_REF}" \
    && git -C /build/ComfyUI checkout -q FETCH_HEAD \
    && rm -rf /build/ComfyUI/.git

RUN curl -fsSL -o /build/filebrowser.tar.gz \
        "https://github.com/filebrowser/filebrowser/releases/download/${FILEBROWSER_VERSION}/linux-amd64-filebrowser.tar.gz" \
    && echo "${FILEBROWSER_SHA256}  /build/filebrowser.tar.gz" | sha256sum -c - \
    && tar -xzf /build/filebrowser.tar.gz -C /build filebrowser \
    && /build/filebrowser version

# Attention kernels compiled against this very torch (no build isolation, so pip cannot
# fetch another one to build with), only when asked for.
ENV TORCH_CUDA_ARCH_LIST="8.0;8.6;8.9;9.0;12.0"
RUN mkdir -p /build/wheels \
    && if [ "${WITH_SAGEATTENTION}" = "1" ]; then \
        PIP_CONSTRAINT=/build/constraints.txt pip wheel --no-build-isolation --no-deps \
            --wheel-dir /build/wheels "git+https://github.com/thu-ml/SageAttention.git@${SAGEATTENTION_REF}"; \
    fi \
    && if [ "${WITH_XFORMERS}" = "1" ]; then \
        PIP_CONSTRAINT=/build/constraints.txt pip wheel --no-build-isolation --no-deps \
            --wheel-dir /build/wheels "git+https://github.com/facebookresearch/xformers.git@${XFORMERS_REF}"; \
    fi

# Phoenix's own wheel, for the bootstrap and the `phoenix` command.
COPY pyproject.toml README.md LICENSE.txt /build/phoenix/
COPY comfyui_phoenix /build/phoenix/comfyui_phoenix
RUN pip wheel --no-deps --wheel-dir /build/wheels /build/phoenix

# ---------------------------------------------------------------------------------------------
# final: only what runs
# ---------------------------------------------------------------------------------------------
FROM ${BASE_IMAGE} AS final
SHELL ["/bin/bash", "-o", "pipefail", "-c"]

ENV DEBIAN_FRONTEND=noninteractive

# The seed's system packages (shred comes with coreutils), tini as PID 1, curl for the
# health check. Versions follow the dated base image's Ubuntu release.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        aria2 ca-certificates coreutils curl git htop libjpeg-dev libpng-dev nano tini unzip vim \
    && rm -rf /var/lib/apt/lists/*

# Every pip run from here on, at build and at boot, keeps the base image's torch stack.
COPY --from=builder /build/constraints.txt /etc/phoenix/constraints.txt
ENV PIP_CONSTRAINT=/etc/phoenix/constraints.txt \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore

# Dependencies before sources, so a change to Phoenix does not reinstall them.
COPY --from=builder /build/ComfyUI/requirements.txt /tmp/deps/comfyui.txt
COPY requirements.txt /tmp/deps/phoenix.txt
COPY bootstrap/requirements-image.txt /tmp/deps/image.txt
# ComfyUI lists torch, torchvision and torchaudio: the base image provides them.
RUN grep -viE '^[[:space:]]*(torch|torchvision|torchaudio)[[:space:]]*([<>=!~;#]|$)' /tmp/deps/comfyui.txt \
        > /tmp/deps/comfyui-no-torch.txt \
    && pip install -r /tmp/deps/comfyui-no-torch.txt -r /tmp/deps/phoenix.txt -r /tmp/deps/image.txt \
    && rm -rf /tmp/deps

COPY --from=builder /build/wheels /tmp/wheels
RUN pip install --no-deps /tmp/wheels/*.whl \
    && rm -rf /tmp/wheels \
    && pip freeze > /etc/phoenix/image-freeze.txt

COPY --from=builder /build/filebrowser /usr/local/bin/filebrowser
COPY --from=builder /build/ComfyUI /opt/ComfyUI

# Phoenix as a ComfyUI custom node (the root __init__.py is what ComfyUI imports).
COPY __init__.py pyproject.toml README.md LICENSE.txt /opt/ComfyUI/custom_nodes/comfyui-phoenix/
COPY comfyui_phoenix /opt/ComfyUI/custom_nodes/comfyui-phoenix/comfyui_phoenix
COPY web /opt/ComfyUI/custom_nodes/comfyui-phoenix/web
COPY bootstrap /opt/phoenix/bootstrap

# ComfyUI and FileBrowser run as sduser; the bootstrap stays root only to own the volume.
# Shell and Python histories go nowhere.
RUN useradd --no-log-init --create-home --uid 10001 --shell /bin/bash sduser \
    && for home in /root /home/sduser; do \
        ln -sf /dev/null "$home/.bash_history" && ln -sf /dev/null "$home/.python_history"; \
    done \
    && mkdir -p /workspace /var/lib/phoenix \
    && chmod 0755 /opt/phoenix/bootstrap/entrypoint.sh

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PYTHON_HISTORY=/dev/null \
    HISTFILE=/dev/null \
    HF_HUB_DISABLE_TELEMETRY=1 \
    DO_NOT_TRACK=1 \
    PHOENIX_CONTAINER=1 \
    HF_REPOS_TO_DOWNLOAD=black-forest-labs/FLUX.1-dev \
    NVIDIA_DISABLE_REQUIRE=1

# NVIDIA_DISABLE_REQUIRE: the base image declares its CUDA floor, and the NVIDIA runtime
# would refuse to start the container on an older driver with a terse error. Starting
# anyway lets the bootstrap's GPU check say which driver to pick.

EXPOSE 7860 8080

HEALTHCHECK --interval=30s --timeout=5s --start-period=180s --retries=3 \
    CMD ["curl", "-fsS", "-o", "/dev/null", "--max-time", "4", "http://127.0.0.1:7860/phoenix/health"]

WORKDIR /opt/phoenix
ENTRYPOINT ["/usr/bin/tini", "--", "/opt/phoenix/bootstrap/entrypoint.sh"]
