"""``phoenix cleanup``: the container's forensic cleanup, or Phoenix's own files in a scope."""

from __future__ import annotations

import argparse
import json
import sys

from ...errors import ConfigError
from ...runtime import container_environ
from ...security.cleanup import (
    CleanupRoots,
    StorageMode,
    check_allowed,
    execute_plan,
    plan_cleanup,
)
from ...service import default_models_root
from .context import cli_settings
from .main import EXIT_FAILED


def run(args: argparse.Namespace) -> int:
    settings = cli_settings(args)
    check_allowed(container=settings.container, force=args.force, scope=args.scope)
    if args.scope is not None and not args.scope.is_dir():
        raise ConfigError(
            f"--scope {args.scope} is not a folder.", hint="Name an existing folder with --scope."
        )
    environ = container_environ()
    roots = CleanupRoots.from_environment(
        environ, settings, models_dir=default_models_root(settings)
    )
    mode = StorageMode.from_environment(environ, settings)
    plan = plan_cleanup(roots, mode, container=settings.container, scope=args.scope)
    if args.dry_run:
        print(json.dumps(plan.to_dict(), indent=2) if args.json else "\n".join(plan.lines()))
        return 0
    if not args.json:
        print("\n".join(plan.lines()))
    report = execute_plan(plan)
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        print(report.summary())
    for failure in report.failed:
        print(f"phoenix: could not remove {failure['path']}: {failure['error']}", file=sys.stderr)
    return EXIT_FAILED if report.failed else 0
