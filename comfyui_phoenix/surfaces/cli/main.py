"""The arguments of ``phoenix``, and the one place errors become exit statuses.

Only the standard library and Phoenix's own light modules are imported here:
``phoenix --help`` and a mistyped command answer at once, and each command's
module (with aiohttp, pydantic and the engine behind it) is imported when it runs.

Exit statuses: 0 success; 1 a failure worth another try later (network, access,
disk, a file that failed its checks); 2 a request that cannot work as written (a
bad reference, setting or option, an unusable models folder); 130 interrupted.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from ... import __version__
from ...errors import BadReferenceError, ConfigError, PhoenixError, UnusableFolderError
from ...security.redact import RedactingFilter

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

#: Errors that no retry can mend: the request itself must change.
USAGE_ERRORS: tuple[type[PhoenixError], ...] = (
    BadReferenceError,
    ConfigError,
    UnusableFolderError,
)


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``phoenix`` with ``argv`` (default: the process's); return the exit status."""
    args = build_parser().parse_args(argv)
    _setup_logging(verbose=args.verbose)
    try:
        command = importlib.import_module(f"{__package__}.{args.command}")
        status: int = command.run(args)
        return status
    except PhoenixError as exc:
        print(f"phoenix: {exc}", file=sys.stderr)
        return exit_status(exc)
    except KeyboardInterrupt:
        print(
            "phoenix: interrupted; partial downloads are kept and resume next time.",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED


def exit_status(*errors: BaseException) -> int:
    """2 when any error is the request's own, else 1; 0 for none."""
    if not errors:
        return EXIT_OK
    return EXIT_USAGE if any(isinstance(e, USAGE_ERRORS) for e in errors) else EXIT_FAILED


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="phoenix", description="Fetch, place and check models for ComfyUI."
    )
    parser.add_argument("--version", action="version", version=f"phoenix {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log details")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    fetch = commands.add_parser("fetch", help="download models by reference or for a workflow")
    fetch.add_argument("refs", nargs="*", metavar="REF", help="references (see the README)")
    fetch.add_argument(
        "--workflow",
        type=Path,
        metavar="FILE.json",
        help="also every model a ComfyUI workflow names (its models lists, Phoenix nodes)",
    )
    _models_dir_option(fetch)
    fetch.add_argument("--dry-run", action="store_true", help="show the plan, download nothing")
    _json_option(fetch, "print the result as JSON")

    plan = commands.add_parser("plan", help="show what the environment variables would fetch")
    _models_dir_option(plan)
    _json_option(plan, "print the plan as JSON")

    status = commands.add_parser("status", help="GPU, disk and download status")
    _models_dir_option(status)
    _json_option(status, "print the status as JSON")

    doctor = commands.add_parser("doctor", help="check GPU, driver and torch compatibility")
    _json_option(doctor, "print the report as JSON")

    cleanup = commands.add_parser(
        "cleanup",
        help="remove secrets, logs, caches and user data as the storage mode says (container only)",
    )
    cleanup.add_argument("--dry-run", action="store_true", help="list the plan, remove nothing")
    cleanup.add_argument(
        "--force",
        action="store_true",
        help="outside the container: remove Phoenix's own files under --scope",
    )
    cleanup.add_argument("--scope", type=Path, help="touch nothing outside this folder")
    _models_dir_option(cleanup)
    _json_option(cleanup, "print the plan or report as JSON")
    return parser


def _models_dir_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--models-dir", type=Path, help="models root (default: PHOENIX_MODELS_DIR or ./models)"
    )


def _json_option(parser: argparse.ArgumentParser, text: str) -> None:
    parser.add_argument("--json", action="store_true", help=text)


def _setup_logging(*, verbose: bool) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RedactingFilter())
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if verbose else logging.WARNING)
