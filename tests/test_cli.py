"""The command line's contract: clear errors, non-zero exit, no traceback."""

import botocore.exceptions
import pytest

from backup_events_aws import cli


def run_with(error, capsys, argv=("boom",)):
    def register(subcommands):
        parser = subcommands.add_parser("boom")
        parser.set_defaults(run=lambda arguments: (_ for _ in ()).throw(error))

    original = cli.build_parser

    def parser_with_boom(*args, **kwargs):
        parser = original(*args, **kwargs)
        register(parser._subparsers._group_actions[0])
        return parser

    cli.build_parser = parser_with_boom
    try:
        code = cli.main(list(argv))
    finally:
        cli.build_parser = original
    return code, capsys.readouterr().err


@pytest.mark.parametrize(
    "error,problem,fix",
    [
        (
            cli.CliError("stack BackupEvents not found", "deploy it first"),
            "stack BackupEvents not found",
            "deploy it first",
        ),
        (botocore.exceptions.ProfileNotFound(profile="nope"), "nope", "aws configure"),
        (botocore.exceptions.NoCredentialsError(), "no AWS credentials", "--profile"),
        (botocore.exceptions.NoRegionError(), "no AWS region", "--region"),
        (
            botocore.exceptions.ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "GetRole"),
            "AccessDenied",
            "lack this permission",
        ),
        (RuntimeError("surprise"), "unexpected RuntimeError: surprise", "--debug"),
    ],
)
def test_errors_name_the_problem_and_the_fix_without_traceback(capsys, error, problem, fix):
    code, err = run_with(error, capsys)
    assert code == 1
    first, second = err.strip().splitlines()
    assert first.startswith("backup-events: error:") and problem in first
    assert second.strip().startswith("fix:") and fix in second
    assert "Traceback" not in err


def test_debug_shows_the_traceback_of_an_unexpected_error(capsys):
    with pytest.raises(RuntimeError):
        run_with(RuntimeError("surprise"), capsys, argv=("--debug", "boom"))


def test_no_command_prints_help_and_exits_2(capsys):
    assert cli.main([]) == 2
    assert "demo" in capsys.readouterr().out


def test_without_the_sandbox_dependencies_other_commands_still_work(monkeypatch, capsys):
    """A plain `pip install .` has boto3 but not moto: the sandbox commands
    explain what is missing, the operations commands work."""
    import sys

    for name in list(sys.modules):
        if name.startswith(("backup_events_aws.sandbox", "moto")):
            monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "moto", None)  # import moto -> ModuleNotFoundError
    with pytest.raises(SystemExit) as done:
        cli.main(["deploy", "--help"])
    assert done.value.code == 0 and "--org-id" in capsys.readouterr().out
    assert cli.main(["demo", "--layout", "typical"]) == 1
    err = capsys.readouterr().err
    assert "needs the Python package 'moto'" in err and "make demo" in err
    assert "Traceback" not in err


def test_help_and_the_operations_commands_do_not_import_the_sandbox():
    """`--help` imports no AWS library at all; an operations command neither the sandbox nor moto
    (they cost seconds: bench/run.py measures the start time)."""
    import subprocess
    import sys

    probe = (
        "import sys, contextlib, io\n"
        "from backup_events_aws import cli\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    try:\n"
        "        cli.main(sys.argv[1:])\n"
        "    except SystemExit:\n"
        "        pass\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'moto', 'boto3', 'botocore'}),"
        " any(m.startswith('backup_events_aws.sandbox') for m in sys.modules))\n"
    )

    def imported(*argv):
        result = subprocess.run([sys.executable, "-c", probe, *argv], capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
        return result.stdout.strip()

    assert imported("--help") == "[] False"
    for command in ("deploy", "preflight", "reconcile", "redrive"):
        libraries, sandbox = imported(command, "--help").rsplit(" ", 1)
        assert "moto" not in libraries and sandbox == "False", command
    assert imported("demo", "--help") == "['boto3', 'botocore', 'moto'] True"  # the sandbox, when asked for


def test_each_command_is_listed_with_its_modules_help():
    for command in cli.COMMANDS:
        parser = cli.build_parser(command, lazy=True)
        choices = parser._subparsers._group_actions[0]._choices_actions
        listed = {action.dest: action.help for action in choices}
        assert listed[command] == cli.COMMANDS[command][1], command


def test_version(capsys):
    from importlib.metadata import version

    with pytest.raises(SystemExit) as done:
        cli.main(["--version"])
    assert done.value.code == 0 and capsys.readouterr().out == f"backup-events {version('backup-events-aws')}\n"
