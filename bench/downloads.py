"""Download throughput, tail and memory of Phoenix's two engines against common clients.

One throttled server process hosts a HuggingFace-compatible hub whose LFS file lives on
a separate CDN host with a per-connection and a total rate cap (``tests/peers/hf.py``
over ``tests/peers/files.py``). The clients then run one after another, each in its own
process and into a fresh folder, all fetching the same bytes over the same CDN:

1. ``phoenix fetch`` with ``PHOENIX_ENGINE=aria2``;
2. ``phoenix fetch`` with ``PHOENIX_ENGINE=python``;
3. ``huggingface_hub.hf_hub_download`` (its plain-HTTP path: the local hub sends no
   ``X-Xet-*`` headers, so no Xet transfer is involved);
4. ``curl -o``, one stream, so at most the per-connection cap.

The total cap is put below the durable write speed of the download disk (measured first,
with fsync) so that the link, not the disk, is the limit. For each client it reports the
throughput over the transfer (first to last byte on disk) and over the whole wall clock
(process start to the file verified and durable in place), as fractions of the total cap;
the tail from the last byte to the file durable in place, and how much of it is flushing;
and the peak RSS of the client's process tree. A second table says where the time and the
CPUs went (other processes on the machine included: on a shared 2-CPU machine they can
cost the engines more than anything they do themselves).

The page cache is dropped before each client when the benchmark may (root), and every
download is deleted after its run. The served file lives in /dev/shm when it fits, so
neither touches the server's reads.

Usage:
    python bench/downloads.py [--quick | --size 2GiB] [--rounds N] [--json PATH] [--dir DIR]

``--quick`` uses a 256 MiB file: a smoke test, where a Phoenix process's fixed start and
stop (about 0.9 s) weigh as much as the transfer. Prints Markdown ready for the README.

The parts live in ``bench/throughput/`` (its ``__init__`` says which file holds what); this
script reads the arguments, and is also what the server and the Phoenix client processes
run, picked by their first argument (``_serve``, ``_phoenix``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from throughput import ALL_CLIENTS, MB, GiB, phoenix_client, run, serve


def _parse_size(text: str) -> int:
    from comfyui_phoenix.settings import parse_rate

    return int(text) if text.isdigit() else parse_rate(text)


def _parse_clients(text: str) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = set(names) - set(ALL_CLIENTS)
    if unknown:
        raise argparse.ArgumentTypeError(
            f"unknown clients {sorted(unknown)}; pick from {ALL_CLIENTS}"
        )
    return names


def main() -> int:
    """The benchmark, or the server or Phoenix client process it started."""
    if len(sys.argv) > 1 and sys.argv[1] == "_serve":
        path, sha256, per_connection, total = sys.argv[2:6]
        serve(Path(path), sha256, float(per_connection), float(total))
        return 0
    if len(sys.argv) > 1 and sys.argv[1] == "_phoenix":
        return phoenix_client(sys.argv[2:])
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=_parse_size, default=2 * GiB, help="file size (2GiB)")
    parser.add_argument("--quick", action="store_true", help="a 256 MiB file")
    parser.add_argument("--per-connection", type=_parse_size, default=25 * MB,
                        help="CDN cap per connection (25MB)")  # fmt: skip
    parser.add_argument("--total", type=_parse_size, default=None,
                        help="CDN total cap (default: 2/3 of the disk's durable speed, <= 200MB)")  # fmt: skip
    parser.add_argument("--dir", default=None, help="where downloads go (default: the temp dir)")
    parser.add_argument("--disk-test", type=_parse_size, default=None,
                        help="bytes written to measure the disk (1GiB quick, else 2GiB)")  # fmt: skip
    parser.add_argument("--clients", type=_parse_clients, default=list(ALL_CLIENTS),
                        help=f"comma-separated subset of {','.join(ALL_CLIENTS)}")  # fmt: skip
    parser.add_argument("--rounds", type=int, default=1,
                        help="run every client this many times; the table shows the median")  # fmt: skip
    parser.add_argument("--json", default=None, help="also write the numbers here")
    return run(parser.parse_args())


if __name__ == "__main__":
    sys.exit(main())
