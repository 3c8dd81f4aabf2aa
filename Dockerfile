#
# Phoenix: a private FLUX workstation on a rented RTX 5090 (RunPod template).
# ComfyUI on 7860, FileBrowser on 8080, Phoenix's downloads and sidebar inside ComfyUI.
# Needs BuildKit (docker buildx, or Docker ≥ 23): the built-in Dockerfile frontend, no
# frontend image pulled from Docker Hub.
#
# Build arguments and their defaults:
#   BASE_IMAGE          nvcr.io/nvidia/pytorch:26.09-py3
#                       NVIDIA's NGC PyTorch at a dated tag (never "latest"): PyTorch 2.14
#                       built with CUDA 13 (NVFP4 on Blackwell needs it), with sm_90
#                       (H100/H200) and sm_120 (RTX 5090) kernels; the build refuses a base
#                       without them. CUDA 13 needs a host driver of R580 or newer.
#   COMFYUI_REF         783545f689a0af730065994b46b382ae24844c99  (ComfyUI 0.33.0)
#   COMFYUI_ARCHIVE_URL GitHub's archive of that commit; any mirror serving the same
#                       archive works (the build checks the commit id inside it)
#   FILEBROWSER_VERSION v2.63.23  (the last release: upstream is archived)
#   FILEBROWSER_SHA256  b14db2bb8033caa3f80205eb6578b2ed0744ebd9e716b790bc4a9703ce909e88
#                       (linux-amd64-filebrowser.tar.gz of that release)
#   FILEBROWSER_URL     the release's archive on GitHub, or a mirror of it
#   PIP_INDEX_URL       unset: PyPI; a mirror of it otherwise (pip reads the variable)
#   WITH_XFORMERS       0  1 compiles xformers against the image's torch (PyPI wheels pull
#                          in another torch); PyTorch's attention is the fast path anyway
#   WITH_SAGEATTENTION  0  1 compiles SageAttention 2 against the image's torch; never PyPI's
#                          1.0.6, which renders black images
#   XFORMERS_REF        v0.0.30  git ref compiled when WITH_XFORMERS=1
#   SAGEATTENTION_REF   v2.2.0   git ref compiled when WITH_SAGEATTENTION=1
#   XFORMERS_GIT_URL / SAGEATTENTION_GIT_URL   their repositories at those refs, or mirrors
#
# Every Python package the image adds is pinned, with its hashes, in
# bootstrap/requirements-image.lock, and installed from wheels only. No secret is ever a
# build argument or in a layer: tokens arrive at run time only.

ARG BASE_IMAGE=nvcr.io/nvidia/pytorch:26.09-py3

# ---------------------------------------------------------------------------------------------
# builder: checked downloads and pinned packages, staged in three trees that the final stage
# copies as three layers (packages, ComfyUI, Phoenix), with their .pyc compiled
# ---------------------------------------------------------------------------------------------
FROM ${BASE_IMAGE} AS builder
SHELL ["/bin/bash", "-o", "pipefail", "-c"]

ARG COMFYUI_REF=783545f689a0af730065994b46b382ae24844c99
ARG COMFYUI_ARCHIVE_URL=https://github.com/Comfy-Org/ComfyUI/archive/${COMFYUI_REF}.tar.gz
ARG FILEBROWSER_VERSION=v2.63.23
ARG FILEBROWSER_SHA256=b14db2bb8033caa3f80205eb6578b2ed0744ebd9e716b790bc4a9703ce909e88
ARG FILEBROWSER_URL=https://github.com/filebrowser/filebrowser/releases/download/${FILEBROWSER_VERSION}/linux-amd64-filebrowser.tar.gz
ARG PIP_INDEX_URL
ARG WITH_XFORMERS=0
ARG WITH_SAGEATTENTION=0
ARG XFORMERS_REF=v0.0.30
ARG SAGEATTENTION_REF=v2.2.0
ARG XFORMERS_GIT_URL=https://github.com/facebookresearch/xformers.git@${XFORMERS_REF}
ARG SAGEATTENTION_GIT_URL=https://github.com/thu-ml/SageAttention.git@${SAGEATTENTION_REF}

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore \
    DEPS=/staging/deps \
    COMFY=/staging/comfyui \
    PHOENIX=/staging/phoenix

WORKDIR /build

# Refuse a base image whose PyTorch cannot run on the GPUs this template is for.
COPY bootstrap/image.py /build/tools/image.py
RUN python /build/tools/image.py check-base --min-cuda 13.0 sm_90 sm_120

# The packages the base lacks, from the lock, from wheels, every hash checked, into a tree
# of their own (pip --root: the base stays as it is, and its constraints file pins every
# package it has, so none of them can be replaced).
COPY bootstrap/requirements-image.lock requirements.txt bootstrap/requirements-image.txt /build/deps/
RUN python /build/tools/image.py lock-additions /build/deps/requirements-image.lock \
        > /build/deps/additions.txt \
    && pip install --root "${DEPS}" --no-compile --no-deps --only-binary=:all: --require-hashes \
        -r /build/deps/additions.txt \
    && SITE="$(python -c 'import sysconfig; print(sysconfig.get_path("purelib"))')" \
    && echo "${SITE}" > /build/site \
    && PYTHONPATH="${DEPS}${SITE}" python /build/tools/image.py check-audio

# Attention kernels compiled against this very torch (no build isolation, so pip cannot
# fetch another one to build with), only when asked for.
ENV TORCH_CUDA_ARCH_LIST="8.0;8.6;8.9;9.0;12.0"
RUN mkdir -p /build/wheels \
    && if [ "${WITH_SAGEATTENTION}" = "1" ]; then \
        pip wheel --no-build-isolation --no-deps --wheel-dir /build/wheels "git+${SAGEATTENTION_GIT_URL}"; \
    fi \
    && if [ "${WITH_XFORMERS}" = "1" ]; then \
        pip wheel --no-build-isolation --no-deps --wheel-dir /build/wheels "git+${XFORMERS_GIT_URL}"; \
    fi \
    && if [ -n "$(ls -A /build/wheels)" ]; then \
        pip install --root "${DEPS}" --no-compile --no-deps /build/wheels/*.whl; \
    fi

# Phoenix's constraints (the base's own file by reference, and the torch stack frozen,
# torchaudio included), and what the image holds, for `pip` runs and for people.
RUN SITE="$(cat /build/site)" \
    && mkdir -p "${DEPS}/etc/phoenix" \
    && PYTHONPATH="${DEPS}${SITE}" python /build/tools/image.py constraints \
        > "${DEPS}/etc/phoenix/constraints.txt" \
    && PYTHONPATH="${DEPS}${SITE}" pip list --format=freeze > "${DEPS}/etc/phoenix/image-freeze.txt" \
    && cat "${DEPS}/etc/phoenix/constraints.txt" \
    && python -m compileall -q -j0 --invalidation-mode checked-hash -s "${DEPS}" -p / "${DEPS}"

# ComfyUI at one commit: the archive must carry that commit's id (GitHub's and git
# archive's do), so a mirror cannot hand over another version unnoticed.
RUN curl -fsSL --retry 3 -o /build/comfyui.tar.gz "${COMFYUI_ARCHIVE_URL}" \
    && found="$(gzip -dc /build/comfyui.tar.gz | git get-tar-commit-id || true)" \
    && if [ "${found}" != "${COMFYUI_REF}" ]; then \
        echo "The ComfyUI archive holds commit '${found:-none}', not COMFYUI_REF ${COMFYUI_REF}: point COMFYUI_ARCHIVE_URL at that commit's archive." >&2; \
        exit 1; \
    fi \
    && mkdir -p "${COMFY}/opt/ComfyUI" \
    && tar -xzf /build/comfyui.tar.gz -C "${COMFY}/opt/ComfyUI" --strip-components=1 \
    && rm /build/comfyui.tar.gz

# FileBrowser, checksummed: a release without its SHA256 is refused, not trusted.
RUN if [ -z "${FILEBROWSER_SHA256}" ]; then \
        echo "FILEBROWSER_SHA256 is empty: pass --build-arg FILEBROWSER_SHA256=<the SHA256 of linux-amd64-filebrowser.tar.gz of ${FILEBROWSER_VERSION}>." >&2; \
        exit 1; \
    fi \
    && curl -fsSL --retry 3 -o /build/filebrowser.tar.gz "${FILEBROWSER_URL}" \
    && if ! echo "${FILEBROWSER_SHA256}  /build/filebrowser.tar.gz" | sha256sum -c --quiet -; then \
        echo "FileBrowser's archive does not match FILEBROWSER_SHA256: pass the SHA256 of linux-amd64-filebrowser.tar.gz of ${FILEBROWSER_VERSION}." >&2; \
        exit 1; \
    fi \
    && mkdir -p "${COMFY}/usr/local/bin" \
    && tar -xzf /build/filebrowser.tar.gz -C "${COMFY}/usr/local/bin" filebrowser \
    && "${COMFY}/usr/local/bin/filebrowser" version \
    && rm /build/filebrowser.tar.gz

# Everything ComfyUI and Phoenix require must be satisfied by the base and the lock,
# without an index: a lock that misses a package fails here, not at boot.
RUN SITE="$(cat /build/site)" \
    && PYTHONPATH="${DEPS}${SITE}" PIP_CONSTRAINT="${DEPS}/etc/phoenix/constraints.txt" \
        pip install --no-index --dry-run --quiet -r "${COMFY}/opt/ComfyUI/requirements.txt" \
        -r /build/deps/requirements.txt -r /build/deps/requirements-image.txt \
    && python -m compileall -q -j0 --invalidation-mode checked-hash -s "${COMFY}" -p / "${COMFY}/opt"

# Phoenix: one copy of its code, the custom node ComfyUI imports, which the bootstrap and
# the `phoenix` command import too (a .pth file puts it on the path).
COPY __init__.py pyproject.toml README.md LICENSE.txt ${PHOENIX}/opt/ComfyUI/custom_nodes/comfyui-phoenix/
COPY comfyui_phoenix ${PHOENIX}/opt/ComfyUI/custom_nodes/comfyui-phoenix/comfyui_phoenix
COPY web ${PHOENIX}/opt/ComfyUI/custom_nodes/comfyui-phoenix/web
COPY bootstrap ${PHOENIX}/opt/phoenix/bootstrap
RUN SITE="$(cat /build/site)" \
    && mkdir -p "${PHOENIX}${SITE}" "${PHOENIX}/usr/local/bin" \
    && echo /opt/ComfyUI/custom_nodes/comfyui-phoenix > "${PHOENIX}${SITE}/comfyui-phoenix.pth" \
    && printf '%s\n' '#!/usr/bin/env python3' 'import sys' \
        'from comfyui_phoenix.surfaces.cli import main' 'sys.exit(main())' \
        > "${PHOENIX}/usr/local/bin/phoenix" \
    && chmod 0755 "${PHOENIX}/usr/local/bin/phoenix" "${PHOENIX}/opt/phoenix/bootstrap/entrypoint.sh" \
    && python -m compileall -q -j0 --invalidation-mode checked-hash -s "${PHOENIX}" -p / "${PHOENIX}/opt"

# ---------------------------------------------------------------------------------------------
# final: the base image, the seed's tools, and the three staged trees
# ---------------------------------------------------------------------------------------------
FROM ${BASE_IMAGE} AS final
SHELL ["/bin/bash", "-o", "pipefail", "-c"]

ENV DEBIAN_FRONTEND=noninteractive

# The seed's system packages (shred comes with coreutils), tini as PID 1, curl for the
# health check. Versions follow the dated base image's distribution; no package lists,
# caches or logs stay behind.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        aria2 ca-certificates coreutils curl git htop libjpeg-dev libpng-dev nano tini unzip vim \
    && apt-get clean \
    && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/log/apt /var/log/dpkg.log

# ComfyUI and FileBrowser run as sduser; the bootstrap stays root only to own the volume.
# Shell and Python histories go nowhere.
RUN useradd --no-log-init --create-home --uid 10001 --shell /bin/bash sduser \
    && for home in /root /home/sduser; do \
        ln -sf /dev/null "$home/.bash_history" && ln -sf /dev/null "$home/.python_history"; \
    done \
    && mkdir -p /workspace /var/lib/phoenix

# Slowest to change first: the pinned packages, then ComfyUI and FileBrowser, then Phoenix.
COPY --from=builder /staging/deps/ /
COPY --from=builder /staging/comfyui/ /
COPY --from=builder /staging/phoenix/ /

# Every pip run from here on, at build and at boot, keeps the base image's own pins and
# its torch stack.
ENV PIP_CONSTRAINT=/etc/phoenix/constraints.txt \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore \
    PYTHONDONTWRITEBYTECODE=1 \
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
