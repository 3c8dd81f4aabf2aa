#!/usr/bin/env python3
"""Local stand-ins for the image's GitHub downloads, laid out as the build arguments expect.

    python3 .ci/image/standins.py OUT --comfyui-git GIT_DIR [--ref COMMIT]

writes, under ``OUT``:

* ``comfyui/COMMIT.tar.gz``: ComfyUI at ``COMMIT`` from a git directory, shaped like
  GitHub's archive of a commit (one ``ComfyUI-COMMIT/`` folder, the commit id in the pax
  header that ``git get-tar-commit-id`` reads). Files whose blobs the copy lacks (partial
  mirrors leave out large ones) are skipped and named.
* ``filebrowser/linux-amd64-filebrowser.tar.gz``: one executable ``filebrowser``, the
  test suite's FileBrowser stand-in (``tests/stand_ins/filebrowser``) as a Python zipapp.

and prints the build arguments that point the Dockerfile at them, for a server that
serves ``OUT`` at ``--base-url``. Both archives are byte-for-byte reproducible, so the
builder's layer cache holds across runs.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import re
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
STAND_INS = REPO / "tests" / "stand_ins"
#: Fixed timestamps keep the archives' bytes, and so their checksums, the same every run.
EPOCH = 1_700_000_000
ZIP_TIME = (2023, 11, 14, 22, 13, 20)


def dockerfile_arg(name: str) -> str:
    match = re.search(rf"^ARG {name}=(\S+)", (REPO / "Dockerfile").read_text(), re.MULTILINE)
    if not match:
        raise SystemExit(f"The Dockerfile has no default for {name}.")
    return match.group(1)


def _gzip(data: bytes) -> bytes:
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", mtime=0) as packed:
        packed.write(data)
    return out.getvalue()


def filebrowser_zipapp() -> bytes:
    """The stand-in and its helper module as one executable file."""
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as app:
        for name, source in (("__main__.py", "filebrowser"), ("_common.py", "_common.py")):
            info = zipfile.ZipInfo(name, ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            app.writestr(info, (STAND_INS / source).read_bytes())
    return b"#!/usr/bin/env python3\n" + archive.getvalue()


def filebrowser_archive() -> bytes:
    data = filebrowser_zipapp()
    tar_bytes = io.BytesIO()
    with tarfile.open(fileobj=tar_bytes, mode="w", format=tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo("filebrowser")
        info.size, info.mode, info.mtime = len(data), 0o755, EPOCH
        tar.addfile(info, io.BytesIO(data))
    return _gzip(tar_bytes.getvalue())


def _tree(git_dir: Path, ref: str) -> list[tuple[str, str, str]]:
    listing = subprocess.run(
        ["git", "--git-dir", str(git_dir), "ls-tree", "-r", "-z", "--full-tree", ref],
        capture_output=True,
        check=True,
    ).stdout.decode()
    entries = []
    for record in filter(None, listing.split("\0")):
        meta, path = record.split("\t", 1)
        mode, kind, sha = meta.split()
        if kind == "blob":
            entries.append((mode, sha, path))
    return entries


def _blobs(git_dir: Path, shas: list[str]) -> dict[str, bytes | None]:
    batch = subprocess.run(
        ["git", "--git-dir", str(git_dir), "cat-file", "--batch"],
        input="".join(f"{sha}\n" for sha in shas).encode(),
        capture_output=True,
        check=True,
    ).stdout
    found: dict[str, bytes | None] = {}
    view = memoryview(batch)
    at = 0
    for sha in shas:
        end = batch.index(b"\n", at)
        head = batch[at:end].decode().split()
        at = end + 1
        if head[1] == "missing":
            found[sha] = None
            continue
        size = int(head[2])
        found[sha] = bytes(view[at : at + size])
        at += size + 1
    return found


def comfyui_archive(git_dir: Path, ref: str) -> tuple[bytes, list[str]]:
    """GitHub's shape of ComfyUI at ``ref``, and the paths the copy had no blob for."""
    entries = _tree(git_dir, ref)
    blobs = _blobs(git_dir, [sha for _mode, sha, _path in entries])
    skipped = []
    prefix = f"ComfyUI-{ref}/"
    tar_bytes = io.BytesIO()
    with tarfile.open(
        fileobj=tar_bytes, mode="w", format=tarfile.PAX_FORMAT, pax_headers={"comment": ref}
    ) as tar:
        for mode, sha, path in entries:
            data = blobs[sha]
            if data is None:
                skipped.append(path)
                continue
            info = tarfile.TarInfo(prefix + path)
            info.mtime = EPOCH
            if mode == "120000":
                info.type, info.linkname = tarfile.SYMTYPE, data.decode()
                tar.addfile(info)
                continue
            info.size, info.mode = len(data), 0o755 if mode == "100755" else 0o644
            tar.addfile(info, io.BytesIO(data))
    return _gzip(tar_bytes.getvalue()), skipped


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("out", type=Path)
    parser.add_argument(
        "--comfyui-git", type=Path, required=True, help="a git directory holding COMMIT"
    )
    parser.add_argument("--ref", default=dockerfile_arg("COMFYUI_REF"))
    parser.add_argument("--base-url", default="http://127.0.0.1:8765")
    args = parser.parse_args()
    comfyui, skipped = comfyui_archive(args.comfyui_git, args.ref)
    for path in skipped:
        print(f"ℹ️ the ComfyUI copy lacks {path}: left out of the stand-in archive", file=sys.stderr)
    (args.out / "comfyui").mkdir(parents=True, exist_ok=True)
    (args.out / "comfyui" / f"{args.ref}.tar.gz").write_bytes(comfyui)
    filebrowser = filebrowser_archive()
    (args.out / "filebrowser").mkdir(parents=True, exist_ok=True)
    (args.out / "filebrowser" / "linux-amd64-filebrowser.tar.gz").write_bytes(filebrowser)
    print(f"COMFYUI_REF={args.ref}")
    print(f"COMFYUI_ARCHIVE_URL={args.base_url}/comfyui/{args.ref}.tar.gz")
    print("FILEBROWSER_VERSION=v0.0.0-stand-in")
    print(f"FILEBROWSER_URL={args.base_url}/filebrowser/linux-amd64-filebrowser.tar.gz")
    print(f"FILEBROWSER_SHA256={hashlib.sha256(filebrowser).hexdigest()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
