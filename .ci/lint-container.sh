#!/usr/bin/env bash
# Lint the container's files: the Dockerfile with hadolint, every shell script with shellcheck.
set -Eeuo pipefail

repo_root() {
    cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd
}

lint_dockerfiles() {
    hadolint "$1/Dockerfile" "$1/.ci/image/standin-base.Dockerfile"
}

lint_shell_scripts() {
    local root="$1"
    local scripts=()
    while IFS= read -r -d '' script; do
        scripts+=("$script")
    done < <(git -C "$root" ls-files -z --cached --others --exclude-standard -- '*.sh')
    if ((${#scripts[@]} > 0)); then
        (cd "$root" && shellcheck "${scripts[@]}")
    fi
}

main() {
    local root
    root="$(repo_root)"
    lint_dockerfiles "$root"
    lint_shell_scripts "$root"
    echo "container lint: hadolint and shellcheck clean"
}

main "$@"
