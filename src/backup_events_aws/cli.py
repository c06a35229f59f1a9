"""`backup-events`: the command line.

Each command lives in its own module, listed in COMMANDS with its help, which adds
its subcommand with `register(subcommands)` and sets `run(arguments) -> exit code`.
This file only parses, checks the arguments of every command outside the sandbox
before any AWS call (operations/validation.py), dispatches, and turns every expected
failure into one clear message (what went wrong, how to fix it) and a non-zero exit,
never a traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import sys
from typing import Any

# Command -> (the module that provides it, its one-line help), in the order `--help` lists them.
# Only the module of the command being run is imported: the sandbox's pulls in moto (seconds), the
# operations' boto3; `--help` imports neither (tests/test_cli.py checks each help is the module's).
COMMANDS = {
    "demo": ("backup_events_aws.sandbox.demo", "run the quick start in the local sandbox (no AWS account needed)"),
    "sandbox": ("backup_events_aws.sandbox.serve", "the local AWS organisation (no AWS account needed)"),
    "deploy": (
        "backup_events_aws.operations.deploy",
        "deploy the template: 3 stacks (minimum layout) or a service-managed StackSet",
    ),
    "preflight": (
        "backup_events_aws.operations.preflight",
        "check that accounts and regions are ready (pass/fail, with fixes)",
    ),
    "reconcile": (
        "backup_events_aws.operations.reconcile",
        "run the function's catch-up sweep now (copies missing, originals not shortened)",
    ),
    "redrive": (
        "backup_events_aws.operations.redrive",
        "explain the error queue and re-submit what failed, once fixed",
    ),
    "status": (
        "backup_events_aws.operations.status",
        "recent backups, their copies and every gap, across accounts and regions",
    ),
    "copy-back": (
        "backup_events_aws.operations.copy_back",
        "copy a backup from the backup account back to its source account, to restore it",
    ),
}
COMMAND_MODULES = {command: module for command, (module, _) in COMMANDS.items()}
SANDBOX_PACKAGE = "backup_events_aws.sandbox"


class CliError(Exception):
    """A failure the user can fix: `problem` and `fix` are shown as they are; the command exits
    `exit_code` (1; 2 for an argument refused before any AWS call, as argparse does)."""

    def __init__(self, problem: str, fix: str = "", exit_code: int = 1):
        super().__init__(problem)
        self.problem, self.fix, self.exit_code = problem, fix, exit_code


def command_of(argv: list[str]) -> str | None:
    """The command word in `argv` (the first that is not an option), if any."""
    for word in argv:
        if word == "--":
            return None
        if not word.startswith("-"):
            return word
    return None


def build_parser(command: str | None = None, *, lazy: bool = False) -> argparse.ArgumentParser:
    """The parser of every command; with `lazy`, only `command`'s module is imported and the others
    are listed by their help (what main() does: `--help` then imports no command at all)."""
    parser = argparse.ArgumentParser(
        prog="backup-events",
        description="Copy every AWS Backup backup to a backup account and a second "
        "region, then shorten the original's retention.",
    )
    parser.add_argument("--version", action=ShowVersion, help="show the version and exit")
    parser.add_argument("--debug", action="store_true", help="show the full traceback of an unexpected error")
    subcommands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module_name, help_text) in COMMANDS.items():
        if lazy and name != command:
            subcommands.add_parser(name, help=help_text, add_help=False)
            continue
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as missing:
            # The sandbox needs the development dependencies (moto...); without
            # them its commands say so, and the others still work.
            add_unavailable(subcommands, name, (missing.name or "?").split(".")[0])
            continue
        module.register(subcommands)
    return parser


class ShowVersion(argparse.Action):
    """--version, looked up only when asked for."""

    def __init__(self, option_strings: list[str], dest: str, help: str | None = None) -> None:
        super().__init__(option_strings, dest, nargs=0, help=help)

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        print(f"{parser.prog} {version()}")
        parser.exit()


def version() -> str:
    """The installed distribution's version (the source tree's pyproject.toml when not installed)."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed

    try:
        return installed("backup-events-aws")
    except PackageNotFoundError:  # pragma: no cover - running from a bare source tree
        return "unknown"


def add_unavailable(subcommands: Any, command: str, missing: str) -> None:
    def run(arguments: argparse.Namespace) -> int:
        raise CliError(
            f"'{command}' needs the Python package '{missing}', which is not installed",
            "install the sandbox extra: pip install 'backup-events-aws[sandbox]', or run it "
            "through 'make demo' (it sets everything up)",
        )

    parser = subcommands.add_parser(command, help=f"(unavailable: needs {missing})", add_help=False)
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
        return CliError(str(error), "check the profile name in ~/.aws/config, or run 'aws configure --profile NAME'")
    if isinstance(error, (aws.NoCredentialsError, aws.PartialCredentialsError)):
        return CliError(
            "no AWS credentials found", "pass --profile, or set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY"
        )
    if isinstance(error, aws.NoRegionError):
        return CliError("no AWS region given", "pass --region or set AWS_REGION")
    if isinstance(error, (aws.TokenRetrievalError, aws.SSOTokenLoadError)):
        return CliError(str(error), "run 'aws sso login' for that profile")
    if isinstance(error, aws.EndpointConnectionError):
        return CliError(str(error), "check the network and the region name")
    if isinstance(error, aws.ClientError):
        code = error.response.get("Error", {}).get("Code", "")
        fix = (
            "the credentials in use lack this permission: use a profile with it"
            if "AccessDenied" in code or code == "UnauthorizedOperation"
            else "see the AWS message above"
        )
        return CliError(str(error), fix)
    return None


def check_arguments(arguments: argparse.Namespace) -> None:
    """Refuse bad argument values before any AWS call (every command outside the sandbox)."""
    module = COMMAND_MODULES.get(arguments.command or "", "")
    if getattr(arguments, "unavailable", False) or module.startswith(SANDBOX_PACKAGE):
        return
    from .operations.validation import check_arguments as check

    check(arguments)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(command_of(argv), lazy=True)
    arguments, extra = parser.parse_known_args(argv)
    if extra and not getattr(arguments, "unavailable", False):
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    if not getattr(arguments, "run", None):
        parser.print_help()
        return 2
    try:
        check_arguments(arguments)
        return int(arguments.run(arguments) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`... | head`): not a failure. Point stdout at
        # /dev/null so Python's final flush doesn't complain either.
        with contextlib.suppress(OSError, ValueError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as error:  # every failure gets a plain message
        known = explain(error)
        if known is None:
            if arguments.debug:
                raise
            known = CliError(
                f"unexpected {type(error).__name__}: {error}", "run again with --debug and report the traceback"
            )
        print(f"backup-events: error: {known.problem}", file=sys.stderr)
        if known.fix:
            print(f"  fix: {known.fix}", file=sys.stderr)
        return known.exit_code


if __name__ == "__main__":  # pragma: no cover
    # `python -m backup_events_aws.cli`: run the imported module's main, whose CliError is the one
    # the commands raise (this file's copy as __main__ has its own class).
    from backup_events_aws.cli import main as imported_main

    sys.exit(imported_main())
