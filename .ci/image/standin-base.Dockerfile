# A stand-in for NVIDIA's NGC PyTorch image, for building Phoenix's Dockerfile where
# nvcr.io cannot be reached: Debian with PyPI's CUDA build of torch, laid out like NGC.
#
#   NGC                                          here
#   Ubuntu 24.04, Python 3.12 as /usr/bin/python Debian 13, Python 3.13 as /usr/bin/python
#   torch 2.14 (NVIDIA's build, CUDA 13.4)       torch 2.14.1 from PyPI (CUDA 13.0)
#   sm_75 … sm_100, sm_120 kernels               sm_75 … sm_100, sm_120 kernels
#   packages in /usr/local/lib/python3.X/dist-packages, PIP_BREAK_SYSTEM_PACKAGES=1
#   every package pinned in /etc/pip/constraint.txt, PIP_CONSTRAINT naming it
#   no torchaudio                                no torchaudio
#   git, curl, the CUDA toolkit, compilers       git and curl only
#
# Built by .ci/image/build-and-boot.sh from a Debian root file system it imports and a
# local folder of wheels served over HTTP (WHEELS_URL).

ARG DEBIAN_IMAGE=phoenix-ci/debian:trixie
FROM ${DEBIAN_IMAGE}
SHELL ["/bin/bash", "-o", "pipefail", "-c"]

ARG WHEELS_URL=http://127.0.0.1:8765/wheels/
ARG TORCH_VERSION=2.14.1
ARG TORCHVISION_VERSION=0.29.1
ARG PIP_VERSION=26.3

ENV DEBIAN_FRONTEND=noninteractive \
    LC_ALL=C.UTF-8 \
    PYTHONIOENCODING=utf-8 \
    PIP_BREAK_SYSTEM_PACKAGES=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    NVIDIA_PYTORCH_VERSION=stand-in \
    TORCH_CUDA_ARCH_LIST="7.5 8.0 8.6 9.0 10.0 12.0+PTX"

# Certificates a TLS-inspecting proxy on the build machine signs with (none elsewhere):
# pip trusts the system bundle through PIP_CERT, curl and apt trust it anyway.
COPY extra-ca/ /usr/local/share/ca-certificates/
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        ca-certificates curl git python3 python3-pip python-is-python3 \
    && update-ca-certificates \
    && apt-get clean \
    && rm -rf /var/lib/apt/lists/*
ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt

RUN pip install --no-index --find-links "${WHEELS_URL}" \
        "torch==${TORCH_VERSION}" "torchvision==${TORCHVISION_VERSION}" \
    && pip install --ignore-installed --find-links "${WHEELS_URL}" "pip==${PIP_VERSION}" \
    && python -c "import torch; print(torch.__version__, torch.version.cuda, torch._C._cuda_getArchFlags())"

# NGC's constraints file: every package of the image at its version.
RUN mkdir -p /etc/pip \
    && pip list --format=freeze --exclude pip > /etc/pip/constraint.txt \
    && wc -l /etc/pip/constraint.txt
ENV PIP_CONSTRAINT=/etc/pip/constraint.txt

WORKDIR /workspace
