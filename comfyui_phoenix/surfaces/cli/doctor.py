"""``phoenix doctor``: GPU, driver and PyTorch compatibility, the check the bootstrap runs."""

from __future__ import annotations

import argparse
import json

from .main import EXIT_FAILED


def run(args: argparse.Namespace) -> int:
    from ... import doctor

    report = doctor.gather()
    if args.json:
        print(json.dumps(report.to_dict(), indent=2, default=str))
    else:
        print(doctor.format_report(report))
    return 0 if doctor.report_ok(report) else EXIT_FAILED
