"""The REST-JSON face of the sandbox's AWS Backup: moto's `BackupResponse` plus the operations the
sandbox adds, each calling one public method of the account's and region's backend (models.py).

moto parses each request with the botocore model (`automated_parameter_parsing`) and serialises
`ActionResult` dicts with the model's output shapes, so a stock boto3 `backup` client works both
in-process (`mock_aws`) and against `ThreadedMotoServer`. urls.py routes every path here.

Every request passes `_authenticate_and_authorize_normal_action`, moto's hook before any
handler: authorisation (authorization.py's Gate, when installed), then the service's faults and
request rates (`BackupService.admit`), in that order, in process and in server mode alike.
"""

from __future__ import annotations

from typing import Any

from moto.backup.responses import BackupResponse
from moto.core.responses import ActionResult, EmptyResult

from .models import SandboxBackupBackend, paginate


class SandboxBackupResponse(BackupResponse):  # type: ignore[misc]
    """Stock moto's Backup responses, plus the operations the sandbox emulates."""

    def __init__(self) -> None:
        super().__init__()
        self.automated_parameter_parsing = True

    @property
    def backup_backend(self) -> SandboxBackupBackend:
        """The installed service's backend for this request's account and region."""
        import moto.backup.models

        backend: SandboxBackupBackend = moto.backup.models.backup_backends[self.current_account][self.region]
        return backend

    def _get_params(self) -> dict[str, Any]:
        # Stock handlers read raw query keys (versionId, includeDeleted); keep those visible.
        merged = {k: v[0] for k, v in self.querystring.items() if isinstance(v, list) and v}
        merged.update(self.params)
        return merged

    def _authenticate_and_authorize_normal_action(self, resource: str = "*") -> None:
        """The one gate of every AWS Backup request: authorise (moto's hook, which
        authorization.Gate extends), then injected faults and request rates."""
        super()._authenticate_and_authorize_normal_action(resource)
        operation = self._get_action()
        if operation:
            self.backup_backend.service.admit(operation, self.current_account, self.region)

    def call_action(self) -> Any:
        with self.backup_backend.service.lock:
            return super().call_action()

    def _page(self, key: str, items: list[Any]) -> ActionResult:
        page, token = paginate(items, self._get_param("MaxResults"), self._get_param("NextToken"))
        return ActionResult({key: page, "NextToken": token})

    # -- jobs ---------------------------------------------------------------------------------

    def start_backup_job(self) -> ActionResult:
        job = self.backup_backend.start_backup_job(
            self._get_param("BackupVaultName"),
            self._get_param("ResourceArn"),
            self._get_param("IamRoleArn"),
            lifecycle=self._get_param("Lifecycle"),
            idempotency_token=self._get_param("IdempotencyToken"),
        )
        return ActionResult(
            {
                "BackupJobId": job.job_id,
                "RecoveryPointArn": job.recovery_point_arn,
                "CreationDate": job.creation_date,
                "IsParent": False,
            }
        )

    def describe_backup_job(self) -> ActionResult:
        return ActionResult(self.backup_backend.describe_backup_job(self._get_param("BackupJobId")).to_api())

    def list_backup_jobs(self) -> ActionResult:
        jobs = self.backup_backend.list_backup_jobs(dict(self.params))
        return self._page("BackupJobs", [j.to_api() for j in jobs])

    def start_copy_job(self) -> ActionResult:
        job, started = self.backup_backend.start_copy_job(
            self._get_param("SourceBackupVaultName"),
            self._get_param("RecoveryPointArn"),
            self._get_param("DestinationBackupVaultArn"),
            self._get_param("IamRoleArn"),
            lifecycle=self._get_param("Lifecycle"),
            idempotency_token=self._get_param("IdempotencyToken"),
        )
        if not started:
            # A replay (same IdempotencyToken): "success, no action taken" (docs/AWS-BEHAVIOUR.md §3.1).
            # The output has no required member, and no page says a replay returns the earlier job's
            # id: the sandbox answers without CopyJobId, the strict case (docs/AWS-BEHAVIOUR.md §19).
            return ActionResult({"CreationDate": job.creation_date, "IsParent": False})
        return ActionResult({"CopyJobId": job.job_id, "CreationDate": job.creation_date, "IsParent": False})

    def describe_copy_job(self) -> ActionResult:
        return ActionResult({"CopyJob": self.backup_backend.describe_copy_job(self._get_param("CopyJobId")).to_api()})

    def list_copy_jobs(self) -> ActionResult:
        jobs = self.backup_backend.list_copy_jobs(dict(self.params))
        return self._page("CopyJobs", [j.to_api() for j in jobs])

    # -- recovery points ----------------------------------------------------------------------

    def _caller_arn(self) -> str | None:
        """The IAM principal behind the request's access key: the role of a moto STS session."""
        from moto.sts.models import sts_backends

        for partitions in list(sts_backends.values()):
            for backend in list(partitions.values()):
                assumed = backend.get_assumed_role_from_access_key(self.get_access_key())
                if assumed is not None:
                    return str(assumed.role_arn)
        return None

    def describe_recovery_point(self) -> ActionResult:
        rp = self.backup_backend.describe_recovery_point(
            self._get_param("BackupVaultName"),
            self._get_param("RecoveryPointArn"),
            self.current_account,
            self._caller_arn(),
        )
        return ActionResult(rp.to_api())

    def update_recovery_point_lifecycle(self) -> ActionResult:
        return ActionResult(
            self.backup_backend.update_recovery_point_lifecycle(
                self._get_param("BackupVaultName"),
                self._get_param("RecoveryPointArn"),
                self._get_param("Lifecycle"),
                self.current_account,
                self._caller_arn(),
            )
        )

    def list_recovery_points_by_backup_vault(self) -> ActionResult:
        points = self.backup_backend.list_recovery_points_by_backup_vault(
            self._get_param("BackupVaultName"), dict(self.params)
        )
        return self._page("RecoveryPoints", [rp.to_api() for rp in points])

    def list_recovery_points_by_resource(self) -> ActionResult:
        return self._page(
            "RecoveryPoints", self.backup_backend.list_recovery_points_by_resource(self._get_param("ResourceArn"))
        )

    # -- vault access policies ----------------------------------------------------------------

    def put_backup_vault_access_policy(self) -> EmptyResult:
        self.backup_backend.put_backup_vault_access_policy(
            self._get_param("BackupVaultName"), self._get_param("Policy")
        )
        return EmptyResult()

    def get_backup_vault_access_policy(self) -> ActionResult:
        return ActionResult(self.backup_backend.get_backup_vault_access_policy(self._get_param("BackupVaultName")))

    def delete_backup_vault_access_policy(self) -> EmptyResult:
        self.backup_backend.delete_backup_vault_access_policy(self._get_param("BackupVaultName"))
        return EmptyResult()

    # -- vaults: the vault lock, the recovery point count, the vault type ---------------------

    def describe_backup_vault(self) -> ActionResult:
        return ActionResult(self.backup_backend.vault_description(self._get_param("BackupVaultName")))

    def create_logically_air_gapped_backup_vault(self) -> ActionResult:
        vault = self.backup_backend.create_logically_air_gapped_backup_vault(
            self._get_param("BackupVaultName"),
            self._get_param("MinRetentionDays"),
            self._get_param("MaxRetentionDays"),
            self._get_param("BackupVaultTags"),
            self._get_param("CreatorRequestId"),
            self._get_param("EncryptionKeyArn"),
        )
        return ActionResult(
            {
                "BackupVaultName": vault.backup_vault_name,
                "BackupVaultArn": vault.backup_vault_arn,
                "CreationDate": vault.creation_date,
                "VaultState": "AVAILABLE",
            }
        )

    # -- settings and notifications -----------------------------------------------------------

    def describe_global_settings(self) -> ActionResult:
        return ActionResult(self.backup_backend.describe_global_settings())

    def update_global_settings(self) -> EmptyResult:
        self.backup_backend.update_global_settings(self._get_param("GlobalSettings"))
        return EmptyResult()

    def describe_region_settings(self) -> ActionResult:
        return ActionResult(self.backup_backend.describe_region_settings())

    def update_region_settings(self) -> EmptyResult:
        self.backup_backend.update_region_settings(
            self._get_param("ResourceTypeOptInPreference"), self._get_param("ResourceTypeManagementPreference")
        )
        return EmptyResult()

    def get_backup_vault_notifications(self) -> ActionResult:
        return ActionResult(self.backup_backend.get_backup_vault_notifications(self._get_param("BackupVaultName")))

    def put_backup_vault_notifications(self) -> EmptyResult:
        self.backup_backend.put_backup_vault_notifications(
            self._get_param("BackupVaultName"), self._get_param("SNSTopicArn"), self._get_param("BackupVaultEvents")
        )
        return EmptyResult()

    def delete_backup_vault_notifications(self) -> EmptyResult:
        self.backup_backend.delete_backup_vault_notifications(self._get_param("BackupVaultName"))
        return EmptyResult()
