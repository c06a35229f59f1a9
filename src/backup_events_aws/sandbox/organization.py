"""A local AWS organisation on moto, with the template deployed as real stack instances.

`Organization` runs on a `Sandbox` (sandbox.py: moto in-process with every extension), given or
made by it; it only deploys and observes: creates the copy role in every account, the layout's
organisation, and deploys `backup_events_aws.yaml` to each (account, region) of the layout, backup
account first (README: Accounts, regions and stack instances). Then tests and the demo drive it:
take backups, advance the simulated clock, and read vaults, error queues and function logs.

    with Organization.minimum() as org:
        resource = org.create_resource("EFS", org.main_account, "us-east-1")
        org.start_backup(org.main_account, "us-east-1", resource)
        org.run_until_idle()
        org.recovery_points(account=org.backup_account)

Accounts are told apart the way moto does it from credentials: each account's
clients use credentials from `sts.assume_role` on a role ARN of that account.
"""

from __future__ import annotations

import datetime
import functools
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import cfn_flip

from .bridge import Delivery, Faults
from .clock import Clock
from .helpers import arn_parts
from .lambda_runtime import ACCOUNT_CONCURRENCY
from .sandbox import Sandbox

STACK_NAME = "BackupEvents"
COPY_ROLE_PATH = "/service-role/"
COPY_ROLE_NAME = "AWSBackupDefaultServiceRole"
_REPOSITORY_TEMPLATE = Path(__file__).resolve().parents[3] / "backup_events_aws.yaml"
_PACKAGED_TEMPLATE = Path(__file__).resolve().parents[1] / "backup_events_aws.yaml"


@functools.lru_cache(maxsize=8)
def _as_json(template_text: str) -> str:
    """The template converted to JSON, once per text: converting the 51 kB of YAML costs about a
    quarter of a deploy's CPU, and the tests deploy the same text hundreds of times."""
    return cfn_flip.to_json(template_text)


def default_template_path() -> Path:
    """The repository's template, or the copy packaged with the wheel."""
    return _REPOSITORY_TEMPLATE if _REPOSITORY_TEMPLATE.exists() else _PACKAGED_TEMPLATE


@dataclass(frozen=True)
class StackInstance:
    account: str
    region: str
    is_backup_account: bool


@dataclass
class Layout:
    """Accounts and regions of an organisation (README: Accounts, regions and stack instances)."""

    org_id: str
    backup_account: str
    resource_accounts: tuple[str, ...]
    resource_regions: tuple[str, ...]
    backup_region: str
    alternate_region: str
    parameters: dict[str, str] = field(default_factory=dict)  # extra template parameters

    def instances(self) -> list[StackInstance]:
        """Backup account first: its vaults and bus must exist before copies and forwards."""
        backup_regions = set(self.resource_regions) | {self.backup_region}
        if self.backup_region in self.resource_regions:
            backup_regions.add(self.alternate_region)  # copy 1 already in the backup region goes there
        instances = [StackInstance(self.backup_account, r, True) for r in sorted(backup_regions)]
        instances += [
            StackInstance(account, region, False)
            for account in self.resource_accounts
            for region in self.resource_regions
        ]
        return instances

    def template_parameters(self) -> dict[str, str]:
        return {
            "OrgId": self.org_id,
            "BackupAccountId": self.backup_account,
            "BackupRegion": self.backup_region,
            "BackupRegionAlternate": self.alternate_region,
            **self.parameters,
        }

    def org_of_account(self, account: str) -> str | None:
        """The layout's organisation for its accounts; None for any other account."""
        accounts = (self.backup_account, *self.resource_accounts)
        return self.org_id if account in accounts else None


def minimum_layout(**parameters: str) -> Layout:
    """Main 000022224444 in us-east-1; backup 999977775555 in us-east-1 and us-west-2."""
    return Layout(
        "o-xxxxxxxxxx", "999977775555", ("000022224444",), ("us-east-1",), "us-west-2", "us-east-1", dict(parameters)
    )


def typical_layout(**parameters: str) -> Layout:
    """3 resource accounts with resources in us-east-1 and us-west-1; backup region us-west-2."""
    return Layout(
        "o-xxxxxxxxxx",
        "999977775555",
        ("000022224444", "111133335555", "222244446666"),
        ("us-east-1", "us-west-1"),
        "us-west-2",
        "us-east-1",
        dict(parameters),
    )


class Organization:
    def __init__(
        self,
        layout: Layout,
        seed: int = 0,
        faults: Faults | None = None,
        clock: Clock | None = None,
        template_path: str | Path | None = None,
        concurrency_quota: int = ACCOUNT_CONCURRENCY,
        sandbox: Sandbox | None = None,
    ):
        """concurrency_quota: each account's Lambda concurrent executions quota. The default is the
        standard 1,000 of an established account; a new account gets NEW_ACCOUNT_CONCURRENCY (10),
        where the template's default reservation fails the stack (docs/AWS-BEHAVIOUR.md §13).

        sandbox: the Sandbox to deploy on (started by `start()` if it is not yet, and then stopped
        by `stop()`); without one, a Sandbox is made from seed, faults, clock and concurrency_quota
        with the layout's organisations."""
        self.layout = layout
        self.sandbox = sandbox or Sandbox(
            clock,
            seed=seed,
            faults=faults,
            concurrency_quota=concurrency_quota,
            org_of_account=layout.org_of_account,
            region=layout.resource_regions[0],
        )
        self.seed = self.sandbox.seed
        self.template_path = Path(template_path) if template_path else default_template_path()
        # What tests, the demo and serve reach through the organisation (the sandbox's own).
        self.clock = self.sandbox.clock
        self.credentials = self.sandbox.credentials
        self.bridge = self.sandbox.bridge
        self.cloudwatch = self.sandbox.cloudwatch
        self.sns = self.sandbox.sns
        self.moto_fixes = self.sandbox.moto_fixes
        self.lambda_api = self.sandbox.lambda_api
        self.gate = self.sandbox.gate
        self.stackset_targets = self.sandbox.stackset_targets
        self.backup_service = self.sandbox.backup  # AWS Backup (backup/service.py)
        self._owns_start = False
        self._resource_numbers = iter(range(1, 1_000_000))
        self._clients: dict[tuple[str, str, str], Any] = {}

    @classmethod
    def minimum(cls, **kwargs: Any) -> Organization:
        return cls(minimum_layout(**kwargs.pop("parameters", {})), **kwargs)

    @classmethod
    def typical(cls, **kwargs: Any) -> Organization:
        return cls(typical_layout(**kwargs.pop("parameters", {})), **kwargs)

    # ------------------------------------------------------------------ accounts

    @property
    def main_account(self) -> str:
        return self.layout.resource_accounts[0]

    @property
    def backup_account(self) -> str:
        return self.layout.backup_account

    @property
    def accounts(self) -> list[str]:
        return [self.backup_account, *self.layout.resource_accounts]

    def org_of_account(self, account: str) -> str | None:
        return self.layout.org_of_account(account)

    def client(self, service: str, account: str, region: str) -> Any:
        """A boto3 client acting in `account` (made once per service, account and region: making
        clients is slow)."""
        key = (service, account, region)
        if key not in self._clients:
            keys = self.credentials.for_account(account)
            self._clients[key] = boto3.client(
                service,
                region_name=region,
                aws_access_key_id=keys["AccessKeyId"],
                aws_secret_access_key=keys["SecretAccessKey"],
                aws_session_token=keys["SessionToken"],
            )
        return self._clients[key]

    # ------------------------------------------------------------------ lifecycle

    def start(self, deploy: bool = True, organization: bool = True) -> Organization:
        """Start the sandbox (unless it runs already); create the layout's organisation in
        Organizations (unless `organization` is False: a test that sets up its own) and deploy the
        stacks."""
        if not self.sandbox.started:
            self.sandbox.start()
            self._owns_start = True
        try:
            for account in self.accounts:
                self._create_copy_role(account)
            if organization:
                self._create_organisation()
            if deploy:
                self.deploy()
                self.bridge.start_schedules()  # e.g. the daily catch-up sweep
        except BaseException:
            self.stop()  # a failed start leaves no patch behind
            raise
        return self

    def stop(self) -> None:
        self._clients.clear()
        if self._owns_start:
            self._owns_start = False
            self.sandbox.stop()

    def __enter__(self) -> Organization:
        return self.start()

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()

    def _create_copy_role(self, account: str) -> None:
        # The role AWS Backup assumes for copies (CopyRoleName default), in every account.
        trust = {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"Service": "backup.amazonaws.com"}, "Action": "sts:AssumeRole"}
            ],
        }
        iam = self.client("iam", account, "us-east-1")
        iam.create_role(RoleName=COPY_ROLE_NAME, Path=COPY_ROLE_PATH, AssumeRolePolicyDocument=json.dumps(trust))
        # What the sandbox evaluates of the AWS managed AWSBackupServiceRolePolicyForBackup that
        # AWS attaches to this role: copying into any vault, and using KMS keys for it
        # (docs/AWS-BEHAVIOUR.md §7, §11.3; a stand-in, not the managed policy's text).
        iam.put_role_policy(
            RoleName=COPY_ROLE_NAME,
            PolicyName="AWSBackupServiceRolePolicyForBackup",
            PolicyDocument=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Action": ["backup:DescribeBackupVault", "backup:CopyIntoBackupVault"],
                            "Resource": "arn:aws:backup:*:*:backup-vault:*",
                        },
                        {
                            "Effect": "Allow",
                            "Action": ["kms:DescribeKey", "kms:Decrypt", "kms:GenerateDataKey", "kms:CreateGrant"],
                            "Resource": "*",
                        },
                    ],
                }
            ),
        )

    @property
    def management_account(self) -> str:
        """The organisation's management account: in the sandbox, the backup account."""
        return self.backup_account

    def _create_organisation(self) -> None:
        """The layout's organisation in moto's Organizations, set up as the README's first steps
        say: every account a member, SCPs enabled, trusted access for AWS Backup, cross-account
        backup on (docs/AWS-BEHAVIOUR.md §4.2)."""
        from moto.organizations import utils as organizations_utils
        from moto.organizations.models import FakeAccount, organizations_backends

        management = self.management_account
        organizations = self.client("organizations", management, "us-east-1")
        organizations.create_organization(FeatureSet="ALL")
        backend = organizations_backends[management]["aws"]
        org = backend.org
        org.id = self.layout.org_id  # moto draws a random id; the layout names the organisation
        for part in [*backend.accounts, *backend.ou, *backend.policies]:
            if hasattr(part, "organization_id"):
                part.organization_id = org.id
        for account in self.accounts:
            if account == management:
                continue
            member = FakeAccount(org, AccountName=f"sandbox-{account}", Email=f"{account}@example.com")
            member.id, member.joined_method = account, "INVITED"
            backend.accounts.append(member)
            for policy_id in (organizations_utils.DEFAULT_SCP_POLICY_ID, organizations_utils.DEFAULT_RCP_POLICY_ID):
                backend.attach_policy(PolicyId=policy_id, TargetId=account)
            organizations_backends.master_accounts[account] = (management, "aws")
        root = organizations.list_roots()["Roots"][0]
        if {"Type": "SERVICE_CONTROL_POLICY", "Status": "ENABLED"} not in root.get("PolicyTypes", []):
            organizations.enable_policy_type(RootId=root["Id"], PolicyType="SERVICE_CONTROL_POLICY")
        organizations.enable_aws_service_access(ServicePrincipal="backup.amazonaws.com")
        self.client("backup", management, self.layout.backup_region).update_global_settings(
            GlobalSettings={"isCrossAccountBackupEnabled": "true"}
        )

    def copy_role_arn(self, account: str) -> str:
        return f"arn:aws:iam::{account}:role{COPY_ROLE_PATH}{COPY_ROLE_NAME}"

    # ------------------------------------------------------------------ stacks

    def template_body(self) -> str:
        # JSON, not YAML: moto mis-parses the short form !Condition (docs/TESTING.md).
        return _as_json(self.template_path.read_text())

    def deploy(self) -> None:
        body = self.template_body()
        parameters = [
            {"ParameterKey": k, "ParameterValue": str(v)} for k, v in self.layout.template_parameters().items()
        ]
        for instance in self.layout.instances():
            cloudformation = self.client("cloudformation", instance.account, instance.region)
            cloudformation.create_stack(
                StackName=STACK_NAME, TemplateBody=body, Parameters=parameters, Capabilities=["CAPABILITY_NAMED_IAM"]
            )
            status = cloudformation.describe_stacks(StackName=STACK_NAME)["Stacks"][0]["StackStatus"]
            if status != "CREATE_COMPLETE":
                reasons = [
                    e.get("ResourceStatusReason")
                    for e in cloudformation.describe_stack_events(StackName=STACK_NAME)["StackEvents"]
                    if e.get("ResourceStatus", "").endswith("_FAILED")
                ]
                raise RuntimeError(
                    f"Stack in {instance.account}/{instance.region}: {status}: " + "; ".join(r for r in reasons if r)
                )

    def stack_outputs(self, account: str, region: str) -> dict[str, str]:
        stack = self.client("cloudformation", account, region).describe_stacks(StackName=STACK_NAME)["Stacks"][0]
        return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}

    def stack_resources(self, account: str, region: str) -> dict[str, dict[str, str]]:
        """Logical ID -> {type, physical id} of the instance's stack."""
        resources = self.client("cloudformation", account, region).describe_stack_resources(StackName=STACK_NAME)[
            "StackResources"
        ]
        # moto lists resources whose Condition is false as entries without a logical ID.
        return {
            r["LogicalResourceId"]: {"type": r["ResourceType"], "id": r.get("PhysicalResourceId", "")}
            for r in resources
            if "LogicalResourceId" in r
        }

    # ------------------------------------------------------------------ resources and backups

    def create_resource(self, resource_type: str, account: str, region: str) -> str:
        """Create a protected resource in moto; returns its ARN. Types: EFS, EBS, RDS."""
        number = next(self._resource_numbers)
        if resource_type == "EFS":
            efs = self.client("efs", account, region)
            return efs.create_file_system(CreationToken=f"sandbox-{number}")["FileSystemArn"]
        if resource_type == "EBS":
            volume = self.client("ec2", account, region).create_volume(AvailabilityZone=f"{region}a", Size=8)
            return f"arn:aws:ec2:{region}:{account}:volume/{volume['VolumeId']}"
        if resource_type == "RDS":
            instance = self.client("rds", account, region).create_db_instance(
                DBInstanceIdentifier=f"db-{number}",
                DBInstanceClass="db.t3.micro",
                Engine="postgres",
                MasterUsername="admin",
                MasterUserPassword="sandbox-password",
                AllocatedStorage=20,
            )
            return instance["DBInstance"]["DBInstanceArn"]
        raise ValueError(f"Unsupported resource type {resource_type}")

    @property
    def vault_name(self) -> str:
        return self.layout.parameters.get("VaultName", "BackupEvents-Sample")

    def start_backup(
        self,
        account: str,
        region: str,
        resource_arn: str,
        vault_name: str | None = None,
        delete_after_days: int = 35,
        scheduled: bool = False,
    ) -> str:
        """Start an on-demand (StartBackupJob) or plan-created backup job; returns the job id."""
        vault_name = vault_name or self.vault_name
        lifecycle = {"DeleteAfterDays": delete_after_days}
        if scheduled:
            return self.backup_service.start_scheduled_backup(
                account, region, vault_name, resource_arn, self.copy_role_arn(account), lifecycle
            )
        return self.client("backup", account, region).start_backup_job(
            BackupVaultName=vault_name,
            ResourceArn=resource_arn,
            IamRoleArn=self.copy_role_arn(account),
            Lifecycle=lifecycle,
        )["BackupJobId"]

    # ------------------------------------------------------------------ time

    def now(self) -> datetime.datetime:
        return self.clock.now()

    def advance(self, seconds: float) -> int:
        return self.clock.advance(seconds)

    def run_until_idle(self, limit_seconds: float = 6 * 3600) -> int:
        """Run what is scheduled (jobs, deliveries, retries) up to `limit_seconds` ahead.

        The bound matters: recovery point expiry is scheduled weeks ahead, and the
        daily sweep would never let the clock go idle.
        """
        return self.clock.run_until_idle(limit_seconds)

    # ------------------------------------------------------------------ observation

    def recovery_points(
        self, account: str | None = None, region: str | None = None, vault_name: str | None = None
    ) -> list[dict[str, Any]]:
        """Recovery points as DescribeRecoveryPoint shows them, with Account/Region.

        Read from the sandbox's state, not through the API: observing must not spend the
        accounts' AWS Backup request rates (nor meet injected throttling)."""
        return [
            {"Account": point.account, "Region": point.region, **point.to_api()}
            for point in self.backup_service.recovery_points(account, region, vault_name)
        ]

    def error_messages(self, account: str, region: str) -> list[dict[str, Any]]:
        """The instance's error queue, read without consuming: body (parsed) and attributes."""
        from moto.sqs.models import sqs_backends

        queue_url = self.stack_outputs(account, region)["ErrorQueueUrl"]
        queue = sqs_backends[account][region].get_queue(queue_url.rsplit("/", 1)[-1])
        messages = []
        for message in queue._messages:
            try:
                body: Any = json.loads(message.body)
            except ValueError:
                body = message.body
            attributes = {k: v.get("StringValue") for k, v in (message.message_attributes or {}).items()}
            messages.append({"body": body, "attributes": attributes})
        return messages

    def function_arn(self, account: str, region: str) -> str:
        name = self.stack_outputs(account, region)["FunctionName"]
        return f"arn:aws:lambda:{region}:{account}:function:{name}"

    def function_logs(self, account: str | None = None, region: str | None = None) -> list[dict[str, Any]]:
        """Log records of the deployed functions, in order, with the function's account and region."""
        records = []
        for invocation in self.bridge.runtime.invocations:
            _, _, fn_region, fn_account, _ = arn_parts(invocation.function_arn)
            if (account and fn_account != account) or (region and fn_region != region):
                continue
            records += [{"account": fn_account, "region": fn_region, **entry} for entry in invocation.logs]
        return records

    def deliveries(self) -> list[Delivery]:
        return list(self.bridge.trace)
