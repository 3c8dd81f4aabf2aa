#!/usr/bin/env bash
# Build Phoenix's real Dockerfile through local stand-ins and boot it on the CPU.
#
#   .ci/image/build-and-boot.sh COMFYUI_GIT_DIR
#
# Where nvcr.io and GitHub cannot be reached, this builds a stand-in for NGC's PyTorch
# image (.ci/image/standin-base.Dockerfile: Debian and PyPI's CUDA torch, laid out like
# NGC) and serves local stand-ins for the GitHub downloads (ComfyUI's archive from
# COMFYUI_GIT_DIR, a git directory holding COMFYUI_REF; FileBrowser's from the tests'
# stand-in). The Dockerfile itself is built unchanged: only build arguments point it at
# them. Then .ci/image/check_boot.py boots the image and checks it, and the figures are
# printed: build time, size added over the base, boot-to-ready, stop time.
#
# Needs Docker with BuildKit, and (first run only) mmdebstrap and about 12 GB of disk:
# PyPI's CUDA torch is 3 GB of wheels. Variables: PHOENIX_CI_WORK (cache, default
# /var/cache/phoenix-ci), DOCKER (the client: one with buildx, or one older than 23 whose
# DOCKER_BUILDKIT=1 still works), PHOENIX_CI_PORT (the local server's port),
# PHOENIX_CI_NO_CACHE=1 (rebuild Phoenix's image from scratch). With no Docker daemon
# and none that can be started, it says so and exits 0: nothing was checked.
set -Eeuo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
readonly REPO
readonly WORK="${PHOENIX_CI_WORK:-/var/cache/phoenix-ci}"
readonly PORT="${PHOENIX_CI_PORT:-8765}"
readonly SERVER="http://127.0.0.1:${PORT}"
readonly DEBIAN_IMAGE=phoenix-ci/debian:trixie
readonly BASE_IMAGE=phoenix-ci/ngc-standin:latest
readonly IMAGE=phoenix-ci/comfyui-phoenix:standin
readonly TORCH=(torch==2.14.1 torchvision==0.29.1)
DOCKER="${DOCKER:-docker}"

say() { printf '%s\n' "$*" >&2; }

die() {
    say "❌ $*"
    exit 1
}

skip() {
    say "⏭️ image build and boot skipped: $*"
    exit 0
}

ensure_daemon() {
    command -v "$DOCKER" >/dev/null || skip "no Docker client ($DOCKER) on this machine"
    "$DOCKER" info >/dev/null 2>&1 && return
    if [[ "$(id -u)" -eq 0 ]] && command -v dockerd >/dev/null; then
        say "ℹ️ starting dockerd (overlay2), its log in $WORK/dockerd.log"
        mkdir -p "$WORK"
        dockerd --storage-driver=overlay2 >"$WORK/dockerd.log" 2>&1 &
        for _ in $(seq 60); do
            "$DOCKER" info >/dev/null 2>&1 && return
            sleep 1
        done
    fi
    skip "no Docker daemon answers and none could be started (see $WORK/dockerd.log)"
}

build() {
    # BuildKit: through buildx when the client has it, else the daemon's own builder.
    if "$DOCKER" buildx version >/dev/null 2>&1; then
        "$DOCKER" buildx build --load --network host "$@"
    else
        DOCKER_BUILDKIT=1 "$DOCKER" build --network host "$@"
    fi
}

ensure_debian() {
    "$DOCKER" image inspect "$DEBIAN_IMAGE" >/dev/null 2>&1 && return
    command -v mmdebstrap >/dev/null || die "mmdebstrap is missing: apt-get install mmdebstrap"
    say "ℹ️ importing a Debian 13 root file system as $DEBIAN_IMAGE"
    mmdebstrap --quiet --variant=minbase --format=tar trixie - http://deb.debian.org/debian \
        | "$DOCKER" import - "$DEBIAN_IMAGE" >/dev/null
}

ensure_wheels() {
    mkdir -p "$WORK/wheels"
    compgen -G "$WORK/wheels/torch-2.14.1-*.whl" >/dev/null && return
    say "ℹ️ downloading PyPI's CUDA torch for Python 3.13 into $WORK/wheels (about 3 GB)"
    local platforms=()
    for minor in $(seq 17 28); do platforms+=(--platform "manylinux_2_${minor}_x86_64"); done
    python3 -m pip download --quiet --only-binary=:all: --python-version 3.13 \
        "${platforms[@]}" --platform manylinux2014_x86_64 --dest "$WORK/wheels" "${TORCH[@]}"
}

serve_standins() {
    local comfyui_git="$1"
    rm -rf "$WORK/www" && mkdir -p "$WORK/www"
    ln -s "$WORK/wheels" "$WORK/www/wheels"
    python3 "$REPO/.ci/image/standins.py" "$WORK/www" --comfyui-git "$comfyui_git" \
        --base-url "$SERVER" >"$WORK/standin-args.env"
    python3 -m http.server --bind 127.0.0.1 --directory "$WORK/www" "$PORT" \
        >"$WORK/http.log" 2>&1 &
    SERVER_PID=$!
    trap 'kill "$SERVER_PID" 2>/dev/null || true' EXIT
    for _ in $(seq 50); do
        curl -fsS -o /dev/null "$SERVER/" 2>/dev/null && return
        sleep 0.1
    done
    die "the local server on $SERVER did not start (see $WORK/http.log)"
}

build_standin_base() {
    local context="$WORK/standin-context"
    rm -rf "$context" && mkdir -p "$context/extra-ca"
    # The build machine's extra certificate authorities (a TLS-inspecting proxy), if any.
    if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
        cp /usr/local/share/ca-certificates/*.crt "$context/extra-ca/"
    fi
    say "ℹ️ building the NGC stand-in $BASE_IMAGE"
    build --quiet -f "$REPO/.ci/image/standin-base.Dockerfile" -t "$BASE_IMAGE" \
        --build-arg "DEBIAN_IMAGE=$DEBIAN_IMAGE" --build-arg "WHEELS_URL=$SERVER/wheels/" \
        "$context" >/dev/null
}

build_phoenix() {
    local args=(--build-arg "BASE_IMAGE=$BASE_IMAGE")
    while IFS= read -r line; do args+=(--build-arg "$line"); done <"$WORK/standin-args.env"
    [[ "${PHOENIX_CI_NO_CACHE:-0}" == 1 ]] && args+=(--no-cache)
    say "ℹ️ building $IMAGE from the Dockerfile, unchanged (log: $WORK/build.log)"
    local began=$SECONDS
    build --progress=plain "${args[@]}" -t "$IMAGE" "$REPO" >"$WORK/build.log" 2>&1 \
        || die "the image did not build: the end of $WORK/build.log says why"
    BUILD_SECONDS=$((SECONDS - began))
}

report_size() {
    local base final
    base="$("$DOCKER" image inspect -f '{{.Size}}' "$BASE_IMAGE")"
    final="$("$DOCKER" image inspect -f '{{.Size}}' "$IMAGE")"
    ADDED_MB=$(((final - base) / 1000000))
    say "ℹ️ the layers Phoenix adds (newest first):"
    "$DOCKER" history --format '{{.Size}}\t{{.CreatedBy}}' "$IMAGE" \
        | head -n "$(($("$DOCKER" history -q "$IMAGE" | wc -l) - $("$DOCKER" history -q "$BASE_IMAGE" | wc -l)))" \
        | cut -c1-110 >&2
}

main() {
    [[ $# -eq 1 ]] || die "usage: $0 COMFYUI_GIT_DIR (a git directory holding COMFYUI_REF)"
    ensure_daemon
    ensure_debian
    ensure_wheels
    serve_standins "$1"
    build_standin_base
    build_phoenix
    report_size
    python3 "$REPO/.ci/image/check_boot.py" "$IMAGE" --docker "$DOCKER" --json "$WORK/boot.json"
    say "build: ${BUILD_SECONDS} s; added over the base: ${ADDED_MB} MB; boot and stop: $(cat "$WORK/boot.json")"
}

main "$@"
