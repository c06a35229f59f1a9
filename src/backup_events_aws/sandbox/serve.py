"""`backup-events sandbox serve`: the sandbox organisation behind a local AWS endpoint.

Starts moto's server with the sandbox's extensions (AWS Backup jobs and events,
CloudFormation types, EventBridge -> Lambda delivery), deploys the minimum organisation into it,
and prints the endpoint, an AWS config file with one profile per account (credentials, region,
endpoint_url) and, per account, environment-variable lines to paste into a shell. Any AWS tool
pointed at the endpoint then sees that account: start a backup with StartBackupJob and
watch copy 1, copy 2 and the shortened original appear.

The sandbox's clock is simulated; here a background thread moves it with real time, `--speed`
simulated seconds per real second (default 60: a simulated minute each second, so a backup job
takes 6 real seconds and a copy 10). Server requests and the clock thread share one lock.
"""

from __future__ import annotations

import argparse
import email.utils
import logging
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .organization import Organization

DEFAULT_SPEED = 60.0
# AWS CLI v1 sets its own endpoint for these services unless --endpoint-url is given (its module
# awscli/customizations/overridesslcommonname.py; docs/AWS-BEHAVIOUR.md §19), so AWS_ENDPOINT_URL
# and a profile's endpoint_url don't reach them.
CLI_V1_OWN_ENDPOINT = ("sqs", "rds", "emr", "docdb", "neptune", "health")
TICK_SECONDS = 0.1  # real seconds between clock steps

logger = logging.getLogger(__name__)


class Server:
    """The organisation, the HTTP endpoint and the clock thread, started and stopped together."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, speed: float = DEFAULT_SPEED, layout: str = "minimum"):
        self.host = host
        self.port = port or free_port(host)
        self.speed = speed
        from .organization import Organization  # moto loads only when a server is made

        self.organization: Organization = Organization.typical() if layout == "typical" else Organization.minimum()
        self._server: Any = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._serving: threading.Thread | None = None
        self._profiles_dir: str | None = None
        self._organization_started = False
        self.clock_failure: BaseException | None = None  # why the clock thread stopped, if it did
        self.failed = threading.Event()

    @property
    def healthy(self) -> bool:
        """False once the clock thread has died: simulated time no longer moves."""
        return not self.failed.is_set()

    @property
    def endpoint_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> Server:
        """Bind the port first (a busy one fails at once), then deploy, then serve and run the clock."""
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
        from werkzeug.serving import make_server

        clock = self.organization.clock
        refusal = _bind_refusal(self.host, self.port)
        if refusal:
            from backup_events_aws.cli import CliError

            raise CliError(
                f"cannot listen on {self.host}:{self.port}: {refusal}",
                "stop what uses that port (another 'sandbox serve'?), or pass --port with a free "
                "port (--port 0 picks one)",
            )
        self._server = make_server(
            self.host,
            self.port,
            DomainDispatcherApplication(create_backend_app),
            threaded=True,
            request_handler=_handler_on(clock),
        )
        self.port = self._server.server_address[1]
        try:
            org = self.organization.start()  # installs the extensions and deploys the stacks
        except BaseException:
            self._server.server_close()
            raise
        self._organization_started = True

        org.clock.lock = org.backup_service.lock  # one lock for requests and the clock thread
        self._profiles_dir = tempfile.mkdtemp(prefix="backup-events-sandbox-")
        self.write_profiles(Path(self._profiles_dir) / "config")
        self._serving = threading.Thread(target=self._server.serve_forever, name="sandbox-server", daemon=True)
        self._serving.start()
        self._thread = threading.Thread(target=self._run_clock, name="sandbox-clock", daemon=True)
        self._thread.start()
        return self

    def _run_clock(self) -> None:
        last = time.monotonic()
        try:
            while not self._stop.wait(TICK_SECONDS):
                now = time.monotonic()
                self.organization.advance((now - last) * self.speed)
                last = now
        except Exception as error:  # a sandbox bug: say so and stop rather than freeze time silently
            logger.exception("The sandbox clock failed; the server stops")
            self.clock_failure = error
            self.failed.set()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        if self._server is not None:
            if self._serving is not None:
                self._server.shutdown()
                self._serving.join()
            self._server.server_close()
        if self._profiles_dir:
            shutil.rmtree(self._profiles_dir, ignore_errors=True)
            self._profiles_dir = None
        if self._organization_started:
            self.organization.stop()
            self._organization_started = False

    def __enter__(self) -> Server:
        return self.start()

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()

    def credentials(self) -> dict[str, dict[str, str]]:
        """Per account: the AWS_* variables that make a client act in that account."""
        out = {}
        for account in self.organization.accounts:
            keys = self.organization.credentials.for_account(account)
            out[account] = {
                "AWS_ENDPOINT_URL": self.endpoint_url,
                "AWS_ACCESS_KEY_ID": keys["AccessKeyId"],
                "AWS_SECRET_ACCESS_KEY": keys["SecretAccessKey"],
                "AWS_SESSION_TOKEN": keys["SessionToken"],
                "AWS_DEFAULT_REGION": self.organization.layout.resource_regions[0],
            }
        return out

    def profile_name(self, account: str) -> str:
        return (
            "sandbox-backup"
            if account == self.organization.backup_account
            else "sandbox-main"
            if (account == self.organization.main_account)
            else f"sandbox-{account}"
        )

    @property
    def config_file(self) -> Path | None:
        return Path(self._profiles_dir) / "config" if self._profiles_dir else None

    def write_profiles(self, path: Path) -> None:
        """An AWS config file with one profile per account: credentials, region and the endpoint
        (botocore's `endpoint_url` setting), for `--profile` in the AWS CLI, SDKs and backup-events."""
        sections = []
        for account, variables in self.credentials().items():
            sections.append(
                f"[profile {self.profile_name(account)}]\n"
                f"aws_access_key_id = {variables['AWS_ACCESS_KEY_ID']}\n"
                f"aws_secret_access_key = {variables['AWS_SECRET_ACCESS_KEY']}\n"
                f"aws_session_token = {variables['AWS_SESSION_TOKEN']}\n"
                f"region = {variables['AWS_DEFAULT_REGION']}\n"
                f"endpoint_url = {self.endpoint_url}\n"
            )
        path.write_text("\n".join(sections))

    def describe(self) -> list[str]:
        org = self.organization
        main, backup = org.main_account, org.backup_account
        now = org.now()
        lines = [
            f"Sandbox AWS endpoint: {self.endpoint_url}",
            f"Clock: simulated, {self.speed:g} seconds per real second; now {now:%Y-%m-%d %H:%M:%S} UTC. "
            "Every response's Date header carries it.",
            f"Organization {org.layout.org_id}: management and backup account {backup}, "
            f"resource account(s) {', '.join(org.layout.resource_accounts)}",
            f"Vault in every account and region: {org.vault_name}",
            "",
            "Profiles (credentials, region and endpoint) for the AWS CLI, SDKs and backup-events:",
            f"  export AWS_CONFIG_FILE={self.config_file}",
        ]
        lines += [
            f"  --profile {self.profile_name(account)}  ({'backup' if account == backup else 'resource'} "
            f"account {account})"
            for account in org.accounts
        ]
        lines += ["", "Or, per account, environment variables:"]
        for account, variables in self.credentials().items():
            role = "backup account" if account == backup else "resource account"
            lines.append(f"# {role} {account}")
            lines += [f"export {name}={value}" for name, value in variables.items()]
            lines.append("")
        lines += [
            "Notes for clients:",
            f"  AWS CLI v1 ignores AWS_ENDPOINT_URL and endpoint_url for {', '.join(CLI_V1_OWN_ENDPOINT)}: "
            f"add --endpoint-url {self.endpoint_url}",
            "  Times are on the simulated clock: give absolute ones, e.g. aws logs filter-log-events "
            f"--log-group-name /aws/lambda/<FunctionName> --start-time {int(now.timestamp() * 1000)} "
            f"(AWS CLI v2: aws logs tail ... --since {now:%Y-%m-%dT%H:%M:%S})",
            "  backup-events reconcile takes the time from the Date header, so it follows the clock.",
            "",
            f"Try, as the resource account (--profile {self.profile_name(main)}):",
            "  aws efs create-file-system --creation-token demo --query FileSystemArn",
            f"  aws backup start-backup-job --backup-vault-name {org.vault_name} \\",
            f"    --resource-arn <that FileSystemArn> --iam-role-arn {org.copy_role_arn(main)}",
            f"then, a few seconds later: aws backup list-recovery-points-by-resource --resource-arn <it>, and "
            f"as {self.profile_name(backup)}: aws backup list-recovery-points-by-backup-vault "
            f"--backup-vault-name {org.vault_name} --region {org.layout.backup_region}. Ctrl-C stops.",
        ]
        return lines


def _handler_on(clock: Any) -> type:
    """moto's request handler, with the simulated clock in every response's Date header (where
    AWS puts its own time) and without a log line per request."""
    from moto.moto_server.werkzeug_app import MotoRequestHandler

    class SandboxRequestHandler(MotoRequestHandler):
        def date_time_string(self, timestamp: float | None = None) -> str:
            return email.utils.formatdate(clock.now().timestamp(), usegmt=True)

        def log_request(self, *args: Any, **kwargs: Any) -> None:
            pass

    return SandboxRequestHandler


def _bind_refusal(host: str, port: int) -> str | None:
    """Why the server could not listen there (werkzeug would print and exit), or None."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the HTTP server binds
        try:
            probe.bind((host, port))
        except OSError as error:
            return error.strerror or str(error)
    return None


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def register(subcommands: Any) -> None:
    sandbox = subcommands.add_parser("sandbox", help="the local AWS organisation (no AWS account needed)")
    actions = sandbox.add_subparsers(dest="sandbox_command", metavar="ACTION")
    serve = actions.add_parser(
        "serve",
        help="serve the sandbox organisation on a local AWS endpoint",
        description=__doc__.split("\n\n")[1],
        formatter_class=argparse.RawTextHelpFormatter,
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=5000, help="port (default 5000; 0 = any free port)")
    serve.add_argument(
        "--speed", type=float, default=DEFAULT_SPEED, help="simulated seconds per real second (default 60)"
    )
    serve.add_argument("--layout", choices=["minimum", "typical"], default="minimum")
    serve.set_defaults(run=run)


def run(
    arguments: argparse.Namespace, wait: Callable[[], None] | None = None, ready: Callable[[Server], None] | None = None
) -> int:
    """Serve until Ctrl-C (or until `wait` returns: tests pass their own)."""
    if arguments.speed <= 0:
        from backup_events_aws.cli import CliError

        raise CliError(f"--speed must be positive, not {arguments.speed}", "pass e.g. --speed 60")
    server = Server(arguments.host, arguments.port, arguments.speed, getattr(arguments, "layout", "minimum"))
    with server:
        print("\n".join(server.describe()), flush=True)
        if ready is not None:
            ready(server)
        try:
            _wait_while_healthy(server, wait)
        except KeyboardInterrupt:
            print("\nstopping the sandbox", flush=True)
    if server.clock_failure is not None:
        print(
            f"the sandbox clock failed ({type(server.clock_failure).__name__}: {server.clock_failure}); "
            "the server stopped",
            flush=True,
        )
        return 1
    return 0


def _wait_while_healthy(server: Server, wait: Callable[[], None] | None) -> None:
    """Until `wait` returns (tests) or Ctrl-C, and in any case until the clock thread fails."""
    if wait is None:
        server.failed.wait()
        return
    waiter = threading.Thread(target=wait, name="sandbox-wait", daemon=True)
    waiter.start()
    while waiter.is_alive() and not server.failed.wait(TICK_SECONDS):
        pass


__all__ = ("Server", "register", "run", "free_port")
