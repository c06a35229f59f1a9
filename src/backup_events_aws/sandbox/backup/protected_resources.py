"""Does a protected resource exist? Asked of moto's own backends when a backup job starts: a
backup of a resource that isn't there fails (docs/AWS-BEHAVIOUR.md §19: AWS's exact answer is
not documented; the sandbox fails the job, the strict reading, with its own wording).

Types the sandbox cannot look up in moto are taken to exist.
"""

from __future__ import annotations

from backup_events_aws.sandbox.helpers import arn_parts


def missing_resource_message(resource_arn: str) -> str:
    return f"Backup job failed because the resource {resource_arn} does not exist."  # sandbox wording


def resource_exists(resource_arn: str) -> bool:
    try:
        partition, service, region, account, resource = arn_parts(resource_arn)
    except ValueError:
        return False
    kind, _, name = resource.replace(":", "/", 1).partition("/")
    if service == "elasticfilesystem" and kind == "file-system":
        from moto.efs.models import efs_backends

        return name in efs_backends[account][region].file_systems_by_id
    if service == "ec2" and kind == "volume":
        from moto.ec2.models import ec2_backends

        return name in ec2_backends[account][region].volumes
    if service == "ec2" and kind == "instance":
        from moto.ec2.models import ec2_backends

        return any(i.id == name for i in ec2_backends[account][region].all_instances())
    if service == "rds" and kind in ("db", "cluster"):
        from moto.rds.models import rds_backends

        backend = rds_backends[account][region]
        return name in (backend.databases if kind == "db" else backend.clusters)
    if service == "dynamodb" and kind == "table":
        from moto.dynamodb.models import dynamodb_backends

        return name in dynamodb_backends[account][region].tables
    if service == "s3" and not region and not account:
        from moto.s3.models import s3_backends

        return any(
            resource in backends[partition].buckets for backends in list(s3_backends.values()) if partition in backends
        )
    return True
