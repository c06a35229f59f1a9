"""One `Sandbox`: moto in-process with every extension the sandbox adds, installed in order and
removed in reverse.

    with Sandbox(Clock(), seed=0, org_of_account=layout.org_of_account) as sandbox:
        ...  # moto answers as the sandbox's AWS; Organization(layout, sandbox=sandbox) deploys on it

Nothing is patched at import: each extension is an object whose `install()` records what it
replaces (patches.py) and whose `uninstall()` puts it back, and may be called twice. The Sandbox
makes them, hands each the collaborators it needs (the clock, the gate's `decide`, the bridge as
the event sink), and owns them; after `stop()` (or leaving the `with`, also on an exception)
moto, botocore and boto3 are as they were, and the process's environment too.

The order, and why:
1. `MotoEnvironment`: credentials and region in the environment, then moto's mock.
2. `MotoFixes`: one clock for moto's stamps, template parsing (before anything is created).
3. The AWS Backup model (`BackupService`, backup/service.py), on the clock, with the layout's
   organisations and the bridge as its event sink.
4. `CloudFormationSupport`: the resource types moto lacks, parameter and policy refusals.
5. `CloudWatch`, SNS: metrics, alarms, mail (the alert path).
6. `LambdaRuntime`, then `Bridge`: functions run on the clock; events reach rules and targets.
7. `LambdaApi`: Invoke and GetAccountSettings answered by the runtime.
8. `Gate`: every governed request authorised (last: nothing before it is refused on the way in).
9. `StackSetTargets`: DeploymentTargets.AccountFilterType.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, Protocol

from . import destinations as sandbox_destinations  # noqa: F401  (AWS::Backup::LogicallyAirGappedBackupVault)
from . import sns as sandbox_sns
from .authorization import Gate
from .backup import BackupService
from .bridge import Bridge, Faults, MotoCredentials
from .clock import Clock
from .cloudformation import CloudFormationSupport
from .cloudwatch import CloudWatch
from .lambda_api import LambdaApi
from .lambda_runtime import ACCOUNT_CONCURRENCY, LambdaRuntime
from .moto_fixes import MotoFixes
from .stacksets import StackSetTargets


class Extension(Protocol):
    def install(self) -> Any: ...

    def uninstall(self) -> None: ...


class MotoEnvironment:
    """moto's in-process mock, with the environment the sandbox's clients read; restored after."""

    def __init__(self, region: str):
        self.region = region
        self._saved_environ: dict[str, str] | None = None
        self._mock: Any = None

    def install(self) -> MotoEnvironment:
        from moto import mock_aws

        if self._mock is not None:
            return self
        self._saved_environ = dict(os.environ)
        os.environ.pop("MOTO_ACCOUNT_ID", None)  # it would override the per-account credentials
        os.environ.update(
            {"AWS_ACCESS_KEY_ID": "sandbox", "AWS_SECRET_ACCESS_KEY": "sandbox", "AWS_DEFAULT_REGION": self.region}
        )
        self._mock = mock_aws()
        self._mock.start()
        return self

    def uninstall(self) -> None:
        if self._mock is not None:
            self._mock.stop()
            self._mock = None
        if self._saved_environ is not None:
            os.environ.clear()
            os.environ.update(self._saved_environ)
            self._saved_environ = None


class SnsExtension:
    """sns.py's subscription and publish behaviour for one `Sns` model."""

    def __init__(self, sns: sandbox_sns.Sns):
        self.sns = sns

    def install(self) -> SnsExtension:
        sandbox_sns.install(self.sns)
        return self

    def uninstall(self) -> None:
        sandbox_sns.uninstall()


class Sandbox:
    def __init__(
        self,
        clock: Clock | None = None,
        seed: int = 0,
        faults: Faults | None = None,
        concurrency_quota: int = ACCOUNT_CONCURRENCY,
        org_of_account: Callable[[str], str | None] | None = None,
        region: str = "us-east-1",
    ):
        """org_of_account: the organisation of each account (the layout's); concurrency_quota: each
        account's Lambda concurrent executions quota (docs/AWS-BEHAVIOUR.md §13); region: the
        environment's default region."""
        self.clock = clock or Clock()
        self.seed = seed
        self.org_of_account = org_of_account or (lambda account: None)
        self.credentials = MotoCredentials()
        self.gate = Gate()  # every governed request is authorised (authorization.py)
        self.runtime = LambdaRuntime(
            self.clock,
            self.credentials.for_role,
            seed=seed,
            concurrency_quota=concurrency_quota,
            decide=self.gate.decide,
        )
        self.bridge = Bridge(
            self.clock,
            org_of_account=self.org_of_account,
            seed=seed,
            faults=faults,
            credentials=self.credentials,
            decide=self.gate.decide,
            runtime=self.runtime,
        )
        # The alert path (docs/AWS-BEHAVIOUR.md §18): metrics, alarms, and what SNS delivers.
        self.cloudwatch = CloudWatch(
            self.clock,
            lambda event, account, region: self.bridge.deliver(event, account, region, durable=True),
            self.bridge._new_id,
        )
        self.sns = sandbox_sns.Sns(self.clock.now)
        self.moto_fixes = MotoFixes(self.clock.now)
        self.lambda_api = LambdaApi(self.runtime, self.runtime.concurrency_quota)
        self.stackset_targets = StackSetTargets()  # DeploymentTargets.AccountFilterType (stacksets.py)
        self.cloudformation = CloudFormationSupport()
        # AWS Backup events land on the default bus of the account and region that emitted them
        # (docs/AWS-BEHAVIOUR.md §1.1); the event says which.
        self.backup = BackupService(
            clock=self.clock,
            seed=seed,
            organization_lookup=self.org_of_account,
            event_sink=lambda event: self.bridge.deliver(event, event["account"], event["region"]),
        )
        self.extensions: tuple[Extension, ...] = (
            MotoEnvironment(region),
            self.moto_fixes,
            self.backup,
            self.cloudformation,
            self.cloudwatch,
            SnsExtension(self.sns),
            self.runtime,
            self.bridge,
            self.lambda_api,
            self.gate,
            self.stackset_targets,
        )
        self._installed: list[Extension] = []

    @property
    def started(self) -> bool:
        return bool(self._installed)

    def start(self) -> Sandbox:
        """Install every extension in order; if one fails, remove it (what it did install) and those
        installed before, and re-raise."""
        if self._installed:
            return self
        try:
            for extension in self.extensions:
                self._installed.append(extension)  # first: its uninstall undoes a partial install
                extension.install()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Remove the installed extensions in reverse order (each one, even if another fails;
        the first failure is raised after)."""
        failure: BaseException | None = None
        while self._installed:
            try:
                self._installed.pop().uninstall()
            except BaseException as error:  # noqa: BLE001 - the rest must be removed all the same
                failure = failure or error
        self.credentials.clear()
        if failure is not None:
            raise failure

    def patched(self) -> list[tuple[Any, Any]]:
        """What the installed extensions have replaced now: (owner, attribute) or (mapping, key)."""
        return [
            target
            for extension in self._installed
            for target in getattr(getattr(extension, "patches", None), "targets", [])
        ]

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()
