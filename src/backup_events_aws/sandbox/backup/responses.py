"""The REST-JSON face of the sandbox's AWS Backup: a `BackupResponse` subclass plus URL routes.

moto parses each request with the botocore model (`automated_parameter_parsing`) and serialises
`ActionResult` dicts with the model's output shapes, so a stock boto3 `backup` client works both
in-process (`mock_aws`) and against `ThreadedMotoServer`. The behaviour lives in `backup.py`.
"""

from __future__ import annotations

from typing import Any

import moto.backup.urls as backup_urls
from moto.backup.responses import BackupResponse
from moto.core.exceptions import JsonRESTError
from moto.core.responses import ActionResult, EmptyResult

from backup_events_aws.sandbox import destinations

from . import models as sandbox_backup
from . import account_settings as backup_settings

# Paths that stock moto does not route (the stock ones are re-pointed at our class too).
ADDED_PATHS = [
    "{0}/backup-jobs/?$",
    "{0}/backup-jobs/(?P<backupJobId>[^/]+)$",
    "{0}/copy-jobs/?$",
    "{0}/copy-jobs/(?P<copyJobId>[^/]+)$",
    "{0}/backup-vaults/(?P<backupVaultName>[^/]+)/recovery-points/?$",
    # The server turns "/?$" into a path without the slash, and botocore sends it with one.
    "{0}/backup-vaults/(?P<backupVaultName>[^/]+)/recovery-points/$",
    "{0}/backup-vaults/(?P<backupVaultName>[^/]+)/recovery-points/(?P<recoveryPointArn>.+)$",
    "{0}/backup-vaults/(?P<backupVaultName>[^/]+)/access-policy/?$",
    # Settings and read-outs (backup_settings.py)
    "{0}/global-settings/?$",
    "{0}/account-settings/?$",
    "{0}/backup-vaults/(?P<backupVaultName>[^/]+)/notification-configuration/?$",
    "{0}/resources/(?P<resourceArn>.+)/recovery-points/?$",
    "{0}/resources/(?P<resourceArn>.+)/recovery-points/$",
    "{0}/logically-air-gapped-backup-vaults/(?P<backupVaultName>[^/]+)$",
]


class SandboxBackupResponse(BackupResponse):
    """Stock moto's Backup responses, plus the operations the sandbox emulates."""

    def __init__(self) -> None:
        super().__init__()
        self.automated_parameter_parsing = True

    def _get_params(self) -> dict[str, Any]:
        # Stock handlers read raw query keys (versionId, includeDeleted); keep those visible.
        merged = {k: v[0] for k, v in self.querystring.items() if isinstance(v, list) and v}
        merged.update(self.params)
        return merged

    def call_action(self):  # type: ignore[override]
        operation = self._get_action()
        if operation:
            try:
                sandbox_backup.check_request(operation, self.current_account, self.region)
            except JsonRESTError as error:
                return error.code, {**dict(error.get_headers()), "status": error.code}, error.description
        with sandbox_backup._lock:
            return super().call_action()

    @property
    def _backend(self):
        return self.backup_backend

    # -- jobs ---------------------------------------------------------------------------------

    def start_backup_job(self) -> ActionResult:
        job = sandbox_backup.start_backup_job(
            self._backend, self._get_param("BackupVaultName"), self._get_param("ResourceArn"),
            self._get_param("IamRoleArn"), lifecycle=self._get_param("Lifecycle"),
            idempotency_token=self._get_param("IdempotencyToken"))
        return ActionResult({"BackupJobId": job.job_id, "RecoveryPointArn": job.recovery_point_arn,
                             "CreationDate": job.creation_date, "IsParent": False})

    def describe_backup_job(self) -> ActionResult:
        job_id = self._get_param("BackupJobId")
        job = sandbox_backup.state_of(self._backend).backup_jobs.get(job_id)
        if job is None:
            raise sandbox_backup.ResourceNotFoundException(f"Backup job {job_id} not found")
        return ActionResult(job.to_api())

    def list_backup_jobs(self) -> ActionResult:
        jobs = [j for j in sandbox_backup.backup_jobs(self.current_account, self.region)
                if self._get_param("ByState") in (None, j.state)
                and self._get_param("ByBackupVaultName") in (None, j.vault_name)
                and self._get_param("ByResourceArn") in (None, j.resource_arn)]
        page, token = sandbox_backup.paginate(jobs, self._get_param("MaxResults"), self._get_param("NextToken"))
        return ActionResult({"BackupJobs": [j.to_api() for j in page], "NextToken": token})

    def start_copy_job(self) -> ActionResult:
        jobs_before = len(sandbox_backup.state_of(self._backend).copy_jobs)
        job = sandbox_backup.start_copy_job(
            self._backend, self._get_param("SourceBackupVaultName"), self._get_param("RecoveryPointArn"),
            self._get_param("DestinationBackupVaultArn"), self._get_param("IamRoleArn"),
            lifecycle=self._get_param("Lifecycle"), idempotency_token=self._get_param("IdempotencyToken"))
        if len(sandbox_backup.state_of(self._backend).copy_jobs) == jobs_before:
            # A replay (same IdempotencyToken): "success, no action taken" (docs/AWS-BEHAVIOUR.md §3.1).
            # The output has no required member, and no page says a replay returns the earlier job's
            # id: the sandbox answers without CopyJobId, the strict case (docs/AWS-BEHAVIOUR.md §19).
            return ActionResult({"CreationDate": job.creation_date, "IsParent": False})
        return ActionResult({"CopyJobId": job.job_id, "CreationDate": job.creation_date, "IsParent": False})

    def describe_copy_job(self) -> ActionResult:
        job_id = self._get_param("CopyJobId")
        job = sandbox_backup.state_of(self._backend).copy_jobs.get(job_id)
        if job is None:
            raise sandbox_backup.ResourceNotFoundException(f"Copy job {job_id} not found")
        return ActionResult({"CopyJob": job.to_api()})

    def list_copy_jobs(self) -> ActionResult:
        jobs = sandbox_backup.list_copy_jobs(self._backend, dict(self.params))
        page, token = sandbox_backup.paginate(jobs, self._get_param("MaxResults"), self._get_param("NextToken"))
        return ActionResult({"CopyJobs": [j.to_api() for j in page], "NextToken": token})

    # -- recovery points ----------------------------------------------------------------------

    def _caller_arn(self) -> str | None:
        """The IAM principal behind the request's access key: the role of a moto STS session."""
        from moto.sts.models import sts_backends

        for partitions in list(sts_backends.values()):
            for backend in list(partitions.values()):
                assumed = backend.get_assumed_role_from_access_key(self.get_access_key())
                if assumed is not None:
                    return assumed.role_arn
        return None

    def _check_vault_policy(self, action: str) -> None:
        sandbox_backup.check_vault_access_policy(
            self._backend, self._get_param("BackupVaultName"), action, self._get_param("RecoveryPointArn"),
            self.current_account, self._caller_arn())

    def describe_recovery_point(self) -> ActionResult:
        rp = sandbox_backup._recovery_point(
            self._backend, self._get_param("BackupVaultName"), self._get_param("RecoveryPointArn"))
        self._check_vault_policy("backup:DescribeRecoveryPoint")
        return ActionResult(rp.to_api())

    def update_recovery_point_lifecycle(self) -> ActionResult:
        sandbox_backup._recovery_point(
            self._backend, self._get_param("BackupVaultName"), self._get_param("RecoveryPointArn"))
        self._check_vault_policy("backup:UpdateRecoveryPointLifecycle")
        return ActionResult(sandbox_backup.update_recovery_point_lifecycle(
            self._backend, self._get_param("BackupVaultName"), self._get_param("RecoveryPointArn"),
            self._get_param("Lifecycle")))

    def list_recovery_points_by_backup_vault(self) -> ActionResult:
        points = sandbox_backup.list_recovery_points(
            self._backend, self._get_param("BackupVaultName"), dict(self.params))
        page, token = sandbox_backup.paginate(points, self._get_param("MaxResults"), self._get_param("NextToken"))
        return ActionResult({"RecoveryPoints": [rp.to_api() for rp in page], "NextToken": token})

    # -- vault access policies ----------------------------------------------------------------

    def put_backup_vault_access_policy(self) -> EmptyResult:
        sandbox_backup.put_vault_access_policy(
            self._backend, self._get_param("BackupVaultName"), self._get_param("Policy"))
        return EmptyResult()

    def get_backup_vault_access_policy(self) -> ActionResult:
        return ActionResult(sandbox_backup.get_vault_access_policy(self._backend, self._get_param("BackupVaultName")))

    def delete_backup_vault_access_policy(self) -> EmptyResult:
        sandbox_backup.delete_vault_access_policy(self._backend, self._get_param("BackupVaultName"))
        return EmptyResult()

    # -- vaults: report the vault lock and the recovery point count -------------------------

    def describe_backup_vault(self) -> ActionResult:
        vault = self._backend.describe_backup_vault(self._get_param("BackupVaultName"))
        return ActionResult({**{k: v for k, v in vault.to_list_dict().items() if v is not None},
                             **destinations.describe_vault_extras(vault)})

    def create_logically_air_gapped_backup_vault(self) -> ActionResult:
        vault = destinations.create_air_gapped_vault(
            self._backend, self._get_param("BackupVaultName"), self._get_param("MinRetentionDays"),
            self._get_param("MaxRetentionDays"), self._get_param("BackupVaultTags"),
            self._get_param("CreatorRequestId"), self._get_param("EncryptionKeyArn"))
        return ActionResult({"BackupVaultName": vault.backup_vault_name, "BackupVaultArn": vault.backup_vault_arn,
                             "CreationDate": vault.creation_date, "VaultState": "AVAILABLE"})

    # -- settings and read-outs (backup_settings.py) -------------------------------------------

    def describe_global_settings(self) -> ActionResult:
        return ActionResult(backup_settings.describe_global_settings(self.current_account))

    def update_global_settings(self) -> EmptyResult:
        backup_settings.update_global_settings(self.current_account, self._get_param("GlobalSettings"))
        return EmptyResult()

    def describe_region_settings(self) -> ActionResult:
        return ActionResult(backup_settings.describe_region_settings(self._backend))

    def update_region_settings(self) -> EmptyResult:
        backup_settings.update_region_settings(self._backend, self._get_param("ResourceTypeOptInPreference"),
                                               self._get_param("ResourceTypeManagementPreference"))
        return EmptyResult()

    def get_backup_vault_notifications(self) -> ActionResult:
        return ActionResult(backup_settings.get_vault_notifications(self._backend, self._get_param("BackupVaultName")))

    def put_backup_vault_notifications(self) -> EmptyResult:
        backup_settings.put_vault_notifications(self._backend, self._get_param("BackupVaultName"),
                                                self._get_param("SNSTopicArn"), self._get_param("BackupVaultEvents"))
        return EmptyResult()

    def delete_backup_vault_notifications(self) -> EmptyResult:
        backup_settings.delete_vault_notifications(self._backend, self._get_param("BackupVaultName"))
        return EmptyResult()

    def list_recovery_points_by_resource(self) -> ActionResult:
        points = backup_settings.list_recovery_points_by_resource(self._backend, self._get_param("ResourceArn"))
        page, token = sandbox_backup.paginate(points, self._get_param("MaxResults"), self._get_param("NextToken"))
        return ActionResult({"RecoveryPoints": page, "NextToken": token})


_MOTO_URL_PATHS = dict(backup_urls.url_paths)  # moto's own routes, as imported: what uninstall restores


def install_routes() -> None:
    """Point every AWS Backup path at SandboxBackupResponse (idempotent)."""
    for path in list(backup_urls.url_paths):
        backup_urls.url_paths[path] = SandboxBackupResponse.dispatch
    for path in ADDED_PATHS:
        backup_urls.url_paths[path] = SandboxBackupResponse.dispatch


def uninstall_routes() -> None:
    """moto's own AWS Backup routes again."""
    backup_urls.url_paths.clear()
    backup_urls.url_paths.update(_MOTO_URL_PATHS)
