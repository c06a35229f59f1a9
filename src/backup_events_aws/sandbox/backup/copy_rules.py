"""Why a copy job fails (docs/AWS-BEHAVIOUR.md §3.1/§4.2/§4.3/§4.4, §15, §17), judged when it starts
running and again when it ends: injected faults, the source, the organisation, the Default vault,
keys, the copy role (authorization.py decides) and then the destination vault's rules (vaults.py).
Wording marked "sandbox" is not documented.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from moto.utilities.utils import get_partition

from backup_events_aws.sandbox.helpers import arn_parts
from backup_events_aws.sandbox.policies import Request, is_allowed, statements_of

from . import vaults
from .models import FULLY_MANAGED_TYPES, RDS_LIKE_TYPES, CopyJob, RecoveryPoint, SandboxBackupBackend, vault_arn_parts

if TYPE_CHECKING:
    from .service import BackupService

MSG_NOT_SAME_ORG = "Copy job failed. Both source and destination account must be a member of the same organization"
MSG_ACCESS_DENIED = "Access Denied trying to call AWS Backup service"
MSG_KEY_NOT_ACCESSIBLE = "Given key ID is not accessible"
MSG_RDS_KEY_NOT_ACCESSIBLE = (
    "The source snapshot KMS key does not exist, is not enabled or you do not have permissions to access it"
)


def copy_failure_reason(service: BackupService, job: CopyJob, injected: bool = True) -> str | None:
    """Why this copy fails, or None."""
    if injected and service.faults.copy_failure_messages:
        return service.faults.copy_failure_messages.pop(0)
    source_backend = service.backend_for(job.account, job.region)
    source = source_backend.recovery_points.get(job.source_recovery_point_arn)
    if source is None:  # sandbox wording
        return f"Copy job failed because the source recovery point {job.source_recovery_point_arn} no longer exists."
    if source.storage_class == "COLD":  # docs/AWS-BEHAVIOUR.md §3.1: cold backups cannot be copied (sandbox wording)
        return "Copy job failed. Recovery points in cold storage cannot be copied."
    dest_account, dest_region, dest_name = vault_arn_parts(job.destination_vault_arn)
    dest_vault = service.backend_for(dest_account, dest_region).vaults.get(dest_name)
    if dest_vault is None:  # sandbox wording
        return f"Copy job failed because destination backup vault {job.destination_vault_arn} does not exist."
    key_is_aws_managed = service.is_aws_managed_key(source.encryption_key_arn)
    cross_account = dest_account != job.account
    if cross_account:
        org = service.organization_of(job.account)
        if org is None or org != service.organization_of(dest_account):  # docs/AWS-BEHAVIOUR.md §4.2/§4.4
            return MSG_NOT_SAME_ORG
        if dest_name == "Default":  # docs/AWS-BEHAVIOUR.md §4.2 (sandbox wording)
            return "Copy job failed. The Default backup vault cannot receive cross-account copies."
        if source.resource_type not in FULLY_MANAGED_TYPES and key_is_aws_managed:
            # docs/AWS-BEHAVIOUR.md §4.3: AWS managed keys can't be shared; messages from §4.4
            return MSG_RDS_KEY_NOT_ACCESSIBLE if source.resource_type in RDS_LIKE_TYPES else MSG_KEY_NOT_ACCESSIBLE
        key_refusal = _shared_key_refusal(source, dest_account)
        if key_refusal:
            return key_refusal
    role_refusal = _copy_role_refusal(service, job, source, source_backend, dest_account, dest_vault, cross_account)
    if role_refusal:
        return role_refusal
    return vaults.destination_failure(
        job,
        source,
        source_backend.vaults.get(job.source_vault_name),
        dest_vault,
        dest_region,
        fully_managed=source.resource_type in FULLY_MANAGED_TYPES,
        key_is_aws_managed=key_is_aws_managed,
        key_not_accessible=MSG_KEY_NOT_ACCESSIBLE,
    )


def _copy_role_refusal(
    service: BackupService,
    job: CopyJob,
    source: RecoveryPoint,
    source_backend: SandboxBackupBackend,
    dest_account: str,
    dest_vault: Any,
    cross_account: bool,
) -> str | None:
    """AWS Backup copies with the job's role (authorization.py decides, docs/AWS-BEHAVIOUR.md §7, §11.3):

    * backup:CopyFromBackupVault on the source recovery point: an explicit Deny in the source
      vault's policy or the role's policies refuses. Whether the role must also allow it is not
      documented, and the AWS managed role policy is not known to grant it: only a Deny refuses.
    * backup:CopyIntoBackupVault on the destination vault: the role's identity policies and the
      vault's policy, both when the vault is in another account (either in the same account); the
      vault policy sees the source account, not the role.
    A role IAM does not know is judged by the vault policies alone."""
    from backup_events_aws.sandbox.authorization import decide, principal_context, role_policy_statements

    identity = role_policy_statements(job.iam_role_arn)
    context = principal_context(job.account, job.iam_role_arn, service.organization_of)
    source_vault = source_backend.vaults.get(job.source_vault_name)
    source_policy = statements_of(getattr(source_vault, "sandbox_access_policy", None))
    copy_from = Request(
        action="backup:CopyFromBackupVault",
        resource=source.arn,
        principal_account=job.account,
        principal_arn=job.iam_role_arn,
        context={**context, "backup:CopyTargets": [job.destination_vault_arn]},
    )
    if "explicit deny" in decide(copy_from, source_policy, job.account, identity or []).reason:
        return MSG_ACCESS_DENIED
    dest_policy = statements_of(getattr(dest_vault, "sandbox_access_policy", None))
    # Which principal AWS Backup presents to the destination vault is not documented; its examples
    # admit the source account or aws:PrincipalOrgID. Strict: the source account, with only
    # aws:PrincipalOrgID known (no role ARN to name or match; docs/AWS-BEHAVIOUR.md §19 item 61).
    into_context = {key: context[key] for key in ("aws:PrincipalOrgID",) if key in context}
    copy_into = Request(
        action="backup:CopyIntoBackupVault",
        resource=dest_vault.backup_vault_arn,
        principal_account=job.account,
        principal_arn=None,
        context=into_context,
    )
    if identity is None:  # docs/AWS-BEHAVIOUR.md §4.2, §4.4: the destination vault must Allow CopyIntoBackupVault
        if cross_account and not is_allowed(dest_policy, copy_into, check_principal=True):
            return MSG_ACCESS_DENIED
        return None
    if not decide(copy_into, dest_policy if dest_policy else None, dest_account, identity).allowed:
        return MSG_ACCESS_DENIED  # docs/AWS-BEHAVIOUR.md §4.4: "Access Denied trying to call AWS Backup service"
    return None


def _shared_key_refusal(source: RecoveryPoint, dest_account: str) -> str | None:
    """A cross-account copy of a type AWS Backup does not fully manage needs the source's customer
    managed key shared with the destination account: its key policy must let that account use it
    (kms:Decrypt and kms:CreateGrant; docs/AWS-BEHAVIOUR.md §4.3). Keys moto's KMS does not hold are
    not judged (the sandbox cannot know their policy)."""
    if source.resource_type in FULLY_MANAGED_TYPES or not source.encryption_key_arn:
        return None
    from moto.kms.models import kms_backends

    from backup_events_aws.sandbox.authorization import decide

    try:
        _, _, key_region, key_account, resource = arn_parts(source.encryption_key_arn)
    except ValueError:
        return None
    key = (
        kms_backends[key_account][key_region].keys.get(resource.split("/", 1)[-1])
        if resource.startswith("key/")
        else None
    )
    if key is None:
        return None
    administrator = [{"Effect": "Allow", "Action": "*", "Resource": "*"}]  # the destination's own side
    for action in ("kms:Decrypt", "kms:CreateGrant"):
        request = Request(
            action=action,
            resource=key.arn,
            principal_account=dest_account,
            principal_arn=f"arn:{get_partition(key_region)}:iam::{dest_account}:root",
        )
        if not decide(request, statements_of(key.policy), key_account, administrator).allowed:
            if source.resource_type in RDS_LIKE_TYPES:
                return MSG_RDS_KEY_NOT_ACCESSIBLE
            return MSG_KEY_NOT_ACCESSIBLE  # docs/AWS-BEHAVIOUR.md §4.4
    return None
