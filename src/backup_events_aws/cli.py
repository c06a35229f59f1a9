"""`backup-events`: the command line.

Each command lives in its own module, which adds its subcommand with
`register(subcommands)` and sets `run(arguments) -> exit code`. This file only
parses, dispatches, and turns every expected failure into one clear message
(what went wrong, how to fix it) and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

# Command -> the module that provides it, in the order `--help` lists them.
COMMAND_MODULES = {
    "demo": "backup_events_aws.sandbox.demo",
    "sandbox": "backup_events_aws.sandbox.serve",
    "deploy": "backup_events_aws.operations.deploy",
    "preflight": "backup_events_aws.operations.preflight",
    "reconcile": "backup_events_aws.operations.reconcile",
    "redrive": "backup_events_aws.operations.redrive",
    "copy-back": "backup_events_aws.operations.copy_back",
}


class CliError(Exception):
    """A failure the user can fix: `problem` and `fix` are shown as they are."""

    def __init__(self, problem: str, fix: str = ""):
        super().__init__(problem)
        self.problem, self.fix = problem, fix


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="backup-events",
        description="Copy every AWS Backup backup to a backup account and a second "
                    "region, then shorten the original's retention.")
    parser.add_argument("--debug", action="store_true",
                        help="show the full traceback of an unexpected error")
    subcommands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for command, name in COMMAND_MODULES.items():
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as missing:
            # The sandbox needs the development dependencies (moto...); without
            # them its commands say so, and the others still work.
            add_unavailable(subcommands, command, (missing.name or "?").split(".")[0])
            continue
        module.register(subcommands)
    return parser


def add_unavailable(subcommands, command: str, missing: str) -> None:
    def run(arguments):
        raise CliError(f"'{command}' needs the Python package '{missing}', which is not installed",
                       "run it through 'make demo' (it sets everything up), or "
                       "'pip install -r requirements-dev.txt'")

    parser = subcommands.add_parser(command, help=f"(unavailable: needs {missing})",
                                    add_help=False)
    parser.set_defaults(run=run, unavailable=True)


def explain(error: BaseException) -> CliError | None:
    """Expected failures, in plain words with the fix."""
    if isinstance(error, CliError):
        return error
    try:
        import botocore.exceptions as aws
    except ImportError:  # pragma: no cover - boto3 is a dependency
        return None
    if isinstance(error, aws.ProfileNotFound):
        return CliError(str(error), "check the profile name in ~/.aws/config, or "
                        "run 'aws configure --profile NAME'")
    if isinstance(error, (aws.NoCredentialsError, aws.PartialCredentialsError)):
        return CliError("no AWS credentials found",
                        "pass --profile, or set AWS_PROFILE or AWS_ACCESS_KEY_ID/"
                        "AWS_SECRET_ACCESS_KEY")
    if isinstance(error, aws.NoRegionError):
        return CliError("no AWS region given", "pass --region or set AWS_REGION")
    if isinstance(error, (aws.TokenRetrievalError, aws.SSOTokenLoadError)):
        return CliError(str(error), "run 'aws sso login' for that profile")
    if isinstance(error, aws.EndpointConnectionError):
        return CliError(str(error), "check the network and the region name")
    if isinstance(error, aws.ClientError):
        code = error.response.get("Error", {}).get("Code", "")
        fix = ("the credentials in use lack this permission: use a profile with it"
               if "AccessDenied" in code or code == "UnauthorizedOperation"
               else "see the AWS message above")
        return CliError(str(error), fix)
    return None


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    arguments, extra = parser.parse_known_args(argv)
    if extra and not getattr(arguments, "unavailable", False):
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    if not getattr(arguments, "run", None):
        parser.print_help()
        return 2
    try:
        return int(arguments.run(arguments) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`... | head`): not a failure. Point stdout at
        # /dev/null so Python's final flush doesn't complain either.
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except (OSError, ValueError):
            pass
        return 0
    except Exception as error:  # noqa: BLE001 - every failure gets a plain message
        known = explain(error)
        if known is None:
            if arguments.debug:
                raise
            known = CliError(f"unexpected {type(error).__name__}: {error}",
                             "run again with --debug and report the traceback")
        print(f"backup-events: error: {known.problem}", file=sys.stderr)
        if known.fix:
            print(f"  fix: {known.fix}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
