"""`backup-events sandbox serve`: the sandbox organisation behind a local AWS endpoint.

Starts moto's ThreadedMotoServer with the sandbox's extensions (AWS Backup jobs and events,
CloudFormation types, EventBridge -> Lambda delivery), deploys the minimum organisation into it,
and prints the endpoint and, per account, environment-variable lines to paste into a shell. Any
AWS tool pointed at the endpoint then sees that account: start a backup with StartBackupJob and
watch copy 1, copy 2 and the shortened original appear.

The sandbox's clock is simulated; here a background thread moves it with real time, `--speed`
simulated seconds per real second (default 60: a simulated minute each second, so a backup job
takes 6 real seconds and a copy 10). Server requests and the clock thread share one lock.
"""

from __future__ import annotations

import argparse
import logging
import socket
import threading
import time
from typing import Any, Callable

from . import backup as sandbox_backup
from .organization import Organization

DEFAULT_SPEED = 60.0
TICK_SECONDS = 0.1  # real seconds between clock steps

logger = logging.getLogger(__name__)


class Server:
    """The organisation, the HTTP endpoint and the clock thread, started and stopped together."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, speed: float = DEFAULT_SPEED,
                 layout: str = "minimum"):
        self.host = host
        self.port = port or free_port(host)
        self.speed = speed
        self.organization = Organization.typical() if layout == "typical" else Organization.minimum()
        self._server: Any = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.clock_failure: BaseException | None = None  # why the clock thread stopped, if it did
        self.failed = threading.Event()

    @property
    def healthy(self) -> bool:
        """False once the clock thread has died: simulated time no longer moves."""
        return not self.failed.is_set()

    @property
    def endpoint_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> "Server":
        from moto.server import ThreadedMotoServer

        org = self.organization.start()  # installs the extensions and deploys the stacks
        org.clock.lock = sandbox_backup._lock  # one lock for requests and the clock thread
        self._server = ThreadedMotoServer(ip_address=self.host, port=self.port, verbose=False)
        self._server.start()
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
            self._server.stop()
        self.organization.stop()

    def __enter__(self) -> "Server":
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

    def describe(self) -> list[str]:
        org = self.organization
        lines = [f"Sandbox AWS endpoint: {self.endpoint_url}",
                 f"Clock: {self.speed:g} simulated seconds per real second, now {org.now():%Y-%m-%d %H:%M:%S} UTC",
                 f"Vault in every account and region: {org.vault_name}", ""]
        for account, variables in self.credentials().items():
            role = "backup account" if account == org.backup_account else "resource account"
            lines.append(f"# {role} {account}")
            lines += [f"export {name}={value}" for name, value in variables.items()]
            lines.append("")
        main = org.main_account
        lines += [
            "Try, as the resource account:",
            f"  aws backup start-backup-job --backup-vault-name {org.vault_name} \\",
            f"    --resource-arn arn:aws:elasticfilesystem:us-east-1:{main}:file-system/fs-0123456789abcdef0 \\",
            f"    --iam-role-arn {org.copy_role_arn(main)}",
            "then list the recovery points in each account a few seconds later. Ctrl-C stops.",
        ]
        return lines


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def register(subcommands: Any) -> None:
    sandbox = subcommands.add_parser("sandbox", help="the local AWS organisation (no AWS account needed)")
    actions = sandbox.add_subparsers(dest="sandbox_command", metavar="ACTION")
    serve = actions.add_parser("serve", help="serve the sandbox organisation on a local AWS endpoint",
                               description=__doc__.split("\n\n")[1], formatter_class=argparse.RawTextHelpFormatter)
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=5000, help="port (default 5000; 0 = any free port)")
    serve.add_argument("--speed", type=float, default=DEFAULT_SPEED,
                       help="simulated seconds per real second (default 60)")
    serve.add_argument("--layout", choices=["minimum", "typical"], default="minimum")
    serve.set_defaults(run=run)


def run(arguments: argparse.Namespace, wait: Callable[[], None] | None = None,
        ready: Callable[[Server], None] | None = None) -> int:
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
        print(f"the sandbox clock failed ({type(server.clock_failure).__name__}: {server.clock_failure}); "
              "the server stopped", flush=True)
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


__all__ = ["Server", "register", "run", "free_port"]
