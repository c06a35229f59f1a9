"""What each stack instance gets (README: Accounts, regions and stack instances; The function), rendered with
cloud-radar."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from layouts import (
    ALL_INSTANCES,
    BACKUP,
    MAIN,
    MINIMUM_LAYOUT,
    ORG,
    RESOURCE_ACCOUNTS,
    TYPICAL_LAYOUT,
    VAULT,
    instance_id,
    kind,
    present,
    rendered,
    vault_arn,
)

ROOT = Path(__file__).resolve().parents[2]
COPY_ROLE = "service-role/AWSBackupDefaultServiceRole"

EVERYWHERE = {
    "Function",
    "FunctionRole",
    "FunctionLogGroup",
    "FunctionInvokeConfig",
    "ErrorQueue",
    "ErrorQueuePolicy",
    "JobFailedRule",
    "SweepRule",
    "SweepPermission",
    "SampleVault",
}
RESOURCES = {
    "R": EVERYWHERE
    | {
        "BackupCompletedRule",
        "BackupCompletedPermission",
        "CopyCompletedRule",
        "CopyCompletedPermission",
        "ForwardRole",
    },
    "B": EVERYWHERE | {"CopyEventBus", "Copy2Rule", "Copy2Permission"},
}

# What the function may do beyond its AWS Backup work: its logs and its
# on-failure records (Lambda sends those with the function's role).
PLUMBING = {"logs:CreateLogStream", "logs:PutLogEvents", "sqs:SendMessage"}
COPY = {"backup:StartCopyJob", "iam:PassRole"}
# Before copy 1, R reads its source (type, key, retention) and who manages the key.
COPY_1 = COPY | {"backup:DescribeRecoveryPoint", "kms:DescribeKey"}
SHORTEN = {"backup:DescribeRecoveryPoint", "backup:UpdateRecoveryPointLifecycle", "backup:DescribeBackupVault"}
SWEEP = {"backup:ListRecoveryPointsByBackupVault", "backup:ListCopyJobs"}

# docs/CONTRACT.md, "AWS calls" per instance kind, as switched by the parameters.
VARIANTS = {
    "default": ({}, {"R": COPY_1 | SHORTEN | SWEEP, "B": COPY | SWEEP}),
    "no-shortening": ({"EnableShortenRetention": "false"}, {"R": COPY_1 | SWEEP, "B": COPY | SWEEP}),
    "no-sweep": ({"EnableCatchUpSweep": "false"}, {"R": COPY_1 | SHORTEN, "B": COPY}),
    "paused": (
        {"EnableCopy": "false", "EnableShortenRetention": "false", "EnableCatchUpSweep": "false"},
        {"R": set(), "B": set()},
    ),
}


def resources_of(template, resource_type):
    return {name: r for name, r in template["Resources"].items() if r["Type"] == resource_type}


def statements(role):
    return [s for p in role["Properties"]["Policies"] for s in present(p["PolicyDocument"]["Statement"])]


def actions(role):
    found = set()
    for statement in statements(role):
        assert statement["Effect"] == "Allow"
        found.update([statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"])
    return found


def as_list(value):
    return value if isinstance(value, list) else [value]


# The resource types whose backups AWS Backup can copy to another account (docs/AWS-BEHAVIOUR.md §2.3).
COPIED_TYPES = [
    "EFS",
    "EBS",
    "EC2",
    "RDS",
    "Aurora",
    "DocumentDB",
    "Neptune",
    "FSx",
    "S3",
    "DynamoDB",
    "Storage Gateway",
    "VMware",
]


def recovery_point_arn(account, region, resource_type):
    """A recovery point ARN as AWS Backup forms it for this type (the sandbox's model of §2.1)."""
    from backup_events_aws.sandbox.backup.models import recovery_point_arn

    return recovery_point_arn(
        account,
        region,
        resource_type,
        "0b1c2d3e-4f50",
        False,
        unique="1b2c3d4e-5f60-4a7b-8c9d-0e1f2a3b4c5d",
        hex17="0123456789abcdef0",
    )


def iam_glob_matches(pattern, arn):
    """IAM's Resource matching: * any run of characters, ? one (IAM User Guide, Resource element)."""
    return re.fullmatch(".*".join(".".join(map(re.escape, p.split("?"))) for p in pattern.split("*")), arn) is not None


@pytest.fixture(params=ALL_INSTANCES, ids=instance_id)
def instance(request):
    """(account, region, rendered template) for every instance of both layouts."""
    account, region = request.param
    return account, region, rendered(account, region)


# --- Which resources ------------------------------------------------------------


def test_minimum_layout_is_one_resource_and_two_backup_instances():
    assert [kind(account) for account, _ in MINIMUM_LAYOUT] == ["R", "B", "B"]
    assert {kind(account) for account, _ in TYPICAL_LAYOUT} == {"R", "B"}
    assert len([i for i in TYPICAL_LAYOUT if kind(i[0]) == "R"]) == 2 * len(RESOURCE_ACCOUNTS)


def test_each_instance_gets_the_resources_of_its_kind(instance):
    account, _, template = instance
    assert set(template["Resources"]) == RESOURCES[kind(account)]


def test_one_function_per_instance(instance):
    _, _, template = instance
    assert list(resources_of(template, "AWS::Lambda::Function")) == ["Function"]


def test_switches_remove_what_they_switch_off():
    resource = rendered(MAIN, "us-east-1", EnableShortenRetention="false", EnableCatchUpSweep="false")["Resources"]
    assert not {"CopyCompletedPermission", "SweepRule", "SweepPermission"} & set(resource)
    targets = present(resource["CopyCompletedRule"]["Properties"]["Targets"])
    assert [t["Id"] for t in targets] == ["BackupAccountBus"]  # still forwarded to B
    byov = rendered(BACKUP, "us-west-2", CreateSampleVaults="false")
    assert "SampleVault" not in byov["Resources"]
    assert byov["Outputs"]["VaultArn"]["Value"] == vault_arn(BACKUP, "us-west-2")


def test_paused_copying_disables_the_action_rules_but_not_failure_reporting():
    paused = dict(VARIANTS["paused"][0])
    for account in (MAIN, BACKUP):
        resource = rendered(account, "us-east-1", **paused)["Resources"]
        for name, rule in resources_of({"Resources": resource}, "AWS::Events::Rule").items():
            assert rule["Properties"].get("State", "ENABLED") == ("ENABLED" if name == "JobFailedRule" else "DISABLED")


# --- The function -----------------------------------------------------------------


def contract_variables():
    text = (ROOT / "docs" / "CONTRACT.md").read_text()
    table = text[text.index("Environment variables") : text.index("The function learns")]
    return set(re.findall(r"`([A-Z][A-Z0-9_]+)`", table))


def test_function_settings(instance):
    account, region, template = instance
    function = template["Resources"]["Function"]["Properties"]
    assert function["Runtime"] == "python3.13"
    assert function["Handler"] == "index.lambda_handler"
    assert function["Role"] == "FunctionRole.Arn"
    assert function["LoggingConfig"] == {
        "LogFormat": "JSON",
        "ApplicationLogLevel": "INFO",
        "LogGroup": "FunctionLogGroup",
    }
    variables = {name: str(value) for name, value in function["Environment"]["Variables"].items()}
    # ALERT_TOPIC_ARN is AlertTopicArn, empty by default (the renderer drops an empty value).
    assert set(variables) | {"ALERT_TOPIC_ARN", "ALERT_AFTER_HOURS"} == contract_variables()
    assert variables.pop("ERROR_QUEUE_URL") == "ErrorQueue"
    assert variables.pop("ALERT_TOPIC_ARN", "") == ""
    assert variables == {
        "BACKUP_ACCOUNT_ID": BACKUP,
        "BACKUP_REGION": "us-west-2",
        "BACKUP_REGION_ALTERNATE": "us-east-1",
        "VAULT_NAME": VAULT,
        "COPY_ROLE_ARN": f"arn:aws:iam::{account}:role/{COPY_ROLE}",
        "NEW_DELETE_AFTER_DAYS": "7",
        "ENABLE_COPY": "true",
        # The backup account never shortens retention.
        "ENABLE_SHORTEN_RETENTION": "true" if kind(account) == "R" else "false",
        "BACKUPS_TO_COVER": "all",
        "CATCH_UP_DAYS": "7",
        "COPY1_RETENTION": "inherit",
        "COPY2_RETENTION": "inherit",
        "BACKUP_VAULT_TYPE": "standard",
        "BACKUP_VAULT_RETENTION": "none",
    }


def test_function_settings_follow_the_parameters():
    function = rendered(
        MAIN,
        "us-west-1",
        VaultName="Mine",
        CopyRoleName="BackupCopier",
        NewDeleteAfterDays="3",
        BackupsToCover="scheduled",
        CatchUpDays="2",
        LogLevel="DEBUG",
        FunctionMemorySize=256,
        FunctionTimeout=30,
        NamePrefix="Be2",
    )["Resources"]["Function"]["Properties"]
    variables = {name: str(value) for name, value in function["Environment"]["Variables"].items()}
    assert variables["VAULT_NAME"] == "Mine"
    assert variables["COPY_ROLE_ARN"] == f"arn:aws:iam::{MAIN}:role/BackupCopier"
    assert (variables["NEW_DELETE_AFTER_DAYS"], variables["CATCH_UP_DAYS"]) == ("3", "2")
    assert variables["BACKUPS_TO_COVER"] == "scheduled"
    assert function["LoggingConfig"]["ApplicationLogLevel"] == "DEBUG"
    assert (function["FunctionName"], function["MemorySize"], function["Timeout"]) == ("Be2", 256, 30)


def test_log_group_and_failure_handling(instance):
    _, _, template = instance
    resource = template["Resources"]
    group = resource["FunctionLogGroup"]["Properties"]
    assert group == {"LogGroupName": "/aws/lambda/BackupEvents", "RetentionInDays": 30}
    invoke = resource["FunctionInvokeConfig"]["Properties"]
    assert invoke["FunctionName"] == "Function"
    assert invoke["MaximumRetryAttempts"] == 2
    # Events throttled by the reserved concurrency wait in Lambda's queue the full 6 hours.
    assert invoke["MaximumEventAgeInSeconds"] == 21600
    assert invoke["DestinationConfig"] == {"OnFailure": {"Destination": "ErrorQueue.Arn"}}


# --- The function's role: exactly the calls it makes here ---------------------------


def function_calls_in_source():
    """Backup actions for the boto3 calls lambda_function.py makes (paginators included)."""
    source = (ROOT / "src" / "backup_events_aws" / "lambda_function.py").read_text()
    calls = set(
        re.findall(
            r"\.(?:start_copy_job|describe_recovery_point|update_recovery_point_lifecycle"
            r"|describe_backup_vault|list_[a-z_]+)\b",
            source,
        )
    )
    calls |= set(re.findall(r"get_paginator\(\s*\"([a-z_]+)\"", source))
    found = {"backup:" + "".join(word.title() for word in call.lstrip(".").split("_")) for call in calls}
    return found | ({"kms:DescribeKey"} if ".describe_key(" in source else set())


def test_the_roles_cover_the_calls_in_the_source():
    granted = set()
    for account, region in MINIMUM_LAYOUT:
        granted |= actions(rendered(account, region)["Resources"]["FunctionRole"])
    assert granted - PLUMBING - {"iam:PassRole"} == function_calls_in_source()


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("instance_", ALL_INSTANCES, ids=lambda i: f"{kind(i[0])}-{i[1]}")
def test_role_grants_exactly_the_calls_of_this_instance(variant, instance_):
    account, region = instance_
    overrides, expected = VARIANTS[variant]
    role = rendered(account, region, **overrides)["Resources"]["FunctionRole"]
    assert actions(role) == PLUMBING | expected[kind(account)]


@pytest.mark.parametrize("variant", VARIANTS)
def test_backup_account_never_may_shorten_retention(variant):
    for region in ("us-east-1", "us-west-1", "us-west-2"):
        role = rendered(BACKUP, region, **VARIANTS[variant][0])["Resources"]["FunctionRole"]
        assert not {"backup:UpdateRecoveryPointLifecycle", "backup:DescribeRecoveryPoint"} & actions(role)


def test_role_resources_are_narrow(instance):
    account, region, template = instance
    for statement in statements(template["Resources"]["FunctionRole"]):
        action = set(as_list(statement["Action"]))
        resource = statement["Resource"]
        if action & {"backup:StartCopyJob", "backup:DescribeRecoveryPoint"}:
            # Every type's recovery points in this region and account, nothing else...
            for resource_type in COPIED_TYPES:
                here = recovery_point_arn(account, region, resource_type)
                assert any(iam_glob_matches(pattern, here) for pattern in resource), (resource_type, here)
                for elsewhere in (
                    recovery_point_arn(account, "eu-west-3", resource_type),
                    recovery_point_arn("123412341234", region, resource_type),
                ):
                    if ":ec2:" not in here or "eu-west-3" in elsewhere:
                        assert not any(iam_glob_matches(pattern, elsewhere) for pattern in resource), elsewhere
            assert not any(iam_glob_matches(pattern, vault_arn(account, region)) for pattern in resource)
            # ... and of this account even where the ARN has no account field (EBS, AMIs).
            assert statement["Condition"] == {"StringEqualsIfExists": {"aws:ResourceAccount": account}}
        elif action == {"iam:PassRole"}:
            assert resource == f"arn:aws:iam::{account}:role/{COPY_ROLE}"
            assert statement["Condition"] == {"StringEquals": {"iam:PassedToService": "backup.amazonaws.com"}}
        elif action & {"backup:DescribeBackupVault", "backup:ListRecoveryPointsByBackupVault"}:
            assert resource == vault_arn(account, region)
        elif action == {"kms:DescribeKey"}:
            assert kind(account) == "R" and resource == f"arn:aws:kms:{region}:{account}:key/*"
        elif action == {"backup:UpdateRecoveryPointLifecycle"}:
            assert resource == f"arn:aws:*:{region}:*:*"
            assert statement["Condition"] == {"StringEquals": {"aws:ResourceAccount": account}}
        elif action == {"backup:ListCopyJobs"}:
            assert resource == "*"  # no resource-level permissions
        elif action & {"logs:PutLogEvents"}:
            assert resource == "FunctionLogGroup.Arn"
        else:
            assert action == {"sqs:SendMessage"} and resource == "ErrorQueue.Arn"
    trust = template["Resources"]["FunctionRole"]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust == [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]


def test_sqs_key_is_granted_to_the_role_and_set_on_the_queue():
    key = "arn:aws:kms:eu-west-1:000011112222:key/mrk-0123456789abcdef0123456789abcdef"
    resource = rendered(MAIN, "us-east-1", SqsKmsKey=key)["Resources"]
    here = "arn:aws:kms:us-east-1:000011112222:key/mrk-0123456789abcdef0123456789abcdef"
    kms = [s for s in statements(resource["FunctionRole"]) if "kms:Decrypt" in as_list(s["Action"])]
    assert kms == [{"Effect": "Allow", "Action": ["kms:GenerateDataKey", "kms:Decrypt"], "Resource": here}]
    queue = resource["ErrorQueue"]["Properties"]
    assert queue["KmsMasterKeyId"] == here and "SqsManagedSseEnabled" not in queue


# --- Rules, targets and permissions connect ---------------------------------------------


def test_every_target_has_a_dead_letter_queue_and_a_retry_policy(instance):
    _, _, template = instance
    for rule in resources_of(template, "AWS::Events::Rule").values():
        targets = present(rule["Properties"]["Targets"])
        assert targets
        for target in targets:
            assert target["DeadLetterConfig"] == {"Arn": "ErrorQueue.Arn"}
            assert target["RetryPolicy"]["MaximumRetryAttempts"] >= 1


def test_function_is_invocable_only_by_its_own_rules(instance):
    _, _, template = instance
    rules = resources_of(template, "AWS::Events::Rule")
    invoking = {
        name
        for name, rule in rules.items()
        if any(t["Arn"] == "Function.Arn" for t in present(rule["Properties"]["Targets"]))
    }
    permissions = resources_of(template, "AWS::Lambda::Permission").values()
    granted = [p["Properties"]["SourceArn"] for p in permissions]
    assert sorted(granted) == sorted(f"{name}.Arn" for name in invoking)  # one permission per rule
    for permission in permissions:
        assert permission["Properties"]["FunctionName"] == "Function"
        assert permission["Properties"]["Principal"] == "events.amazonaws.com"
        assert permission["Properties"]["Action"] == "lambda:InvokeFunction"
        assert "PrincipalOrgID" not in permission["Properties"]  # no organisation-wide grant


def test_rule_names_and_targets(instance):
    account, region, template = instance
    rules = resources_of(template, "AWS::Events::Rule")
    names = {name: rule["Properties"]["Name"] for name, rule in rules.items()}
    expected = {"JobFailedRule": "BackupEvents-JobFailed", "SweepRule": "BackupEvents-CatchUpSweep"}
    if kind(account) == "R":
        expected |= {
            "BackupCompletedRule": "BackupEvents-BackupCompleted",
            "CopyCompletedRule": "BackupEvents-CopyCompleted",
        }
    else:
        expected |= {"Copy2Rule": "BackupEvents-Copy2"}
    assert names == expected
    assert [t["Arn"] for t in rules["JobFailedRule"]["Properties"]["Targets"]] == ["ErrorQueue.Arn"]
    assert rules["SweepRule"]["Properties"]["ScheduleExpression"] == "rate(1 day)"
    if kind(account) == "B":
        assert rules["Copy2Rule"]["Properties"]["EventBusName"] == "CopyEventBus"


def test_resource_account_forwards_copy_events_to_the_backup_accounts_bus():
    bus_arns = {}
    for account, region in TYPICAL_LAYOUT:
        if kind(account) == "B":
            bus = rendered(account, region)["Resources"]["CopyEventBus"]["Properties"]
            bus_arns[region] = f"arn:aws:events:{region}:{account}:event-bus/{bus['Name']}"
    for account, region in TYPICAL_LAYOUT:
        if kind(account) != "R":
            continue
        resource = rendered(account, region)["Resources"]
        forward = [
            t for t in present(resource["CopyCompletedRule"]["Properties"]["Targets"]) if t["Id"] == "BackupAccountBus"
        ]
        assert forward == [
            {
                "Id": "BackupAccountBus",
                "Arn": bus_arns[region],
                "RoleArn": "ForwardRole.Arn",
                "RetryPolicy": {"MaximumRetryAttempts": 185},
                "DeadLetterConfig": {"Arn": "ErrorQueue.Arn"},
            }
        ]
        role = resource["ForwardRole"]
        assert statements(role) == [{"Effect": "Allow", "Action": "events:PutEvents", "Resource": bus_arns[region]}]
        trust = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
        assert trust == [
            {
                "Effect": "Allow",
                "Principal": {"Service": "events.amazonaws.com"},
                "Action": "sts:AssumeRole",
                "Condition": {
                    "StringEquals": {"aws:SourceAccount": account},
                    "ArnEquals": {
                        "aws:SourceArn": f"arn:aws:events:{region}:{account}:rule/BackupEvents-CopyCompleted"
                    },
                },
            }
        ]


def test_backup_accounts_bus_admits_the_organisation_only():
    for region in ("us-east-1", "us-west-2"):
        bus = rendered(BACKUP, region)["Resources"]["CopyEventBus"]["Properties"]
        assert bus["Name"] == "BackupEvents"
        assert bus["Policy"]["Statement"] == [
            {
                "Sid": "PutEventsFromOrganization",
                "Effect": "Allow",
                "Principal": "*",
                "Action": "events:PutEvents",
                "Resource": f"arn:aws:events:{region}:{BACKUP}:event-bus/BackupEvents",
                "Condition": {"StringEquals": {"aws:PrincipalOrgID": ORG}},
            }
        ]


# --- The error queue ------------------------------------------------------------------


def test_error_queue_admits_only_this_stacks_senders(instance):
    account, _, template = instance
    resource = template["Resources"]
    queue = resource["ErrorQueue"]["Properties"]
    assert queue == {
        "QueueName": "BackupEvents-Errors",
        "MessageRetentionPeriod": 1209600,
        "SqsManagedSseEnabled": True,
    }
    policy = resource["ErrorQueuePolicy"]["Properties"]
    assert policy["Queues"] == ["ErrorQueue"]
    tls, allow, only = policy["PolicyDocument"]["Statement"]
    assert tls["Effect"] == "Deny" and tls["Action"] == "sqs:*"
    assert tls["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert allow["Effect"] == "Allow" and allow["Principal"] == {"Service": "events.amazonaws.com"}
    assert allow["Action"] == "sqs:SendMessage"
    assert allow["Condition"] == {"StringEquals": {"aws:SourceAccount": account}}
    assert only["Effect"] == "Deny" and only["Principal"] == "*" and only["Action"] == "sqs:SendMessage"
    not_equals = only["Condition"]["ArnNotEquals"]
    rules = {f"{name}.Arn" for name in resources_of(template, "AWS::Events::Rule")}
    assert set(present(not_equals["aws:SourceArn"])) == rules
    assert not_equals["aws:PrincipalArn"] == "FunctionRole.Arn"
    for statement in (tls, allow, only):
        assert statement["Resource"] == "ErrorQueue.Arn"


# --- Vaults -------------------------------------------------------------------------------


def copy_target(account, region):
    """Where this instance's copies go: B's vault here (R); the backup or alternate region (B)."""
    if kind(account) == "R":
        return vault_arn(BACKUP, region)
    return vault_arn(BACKUP, "us-east-1" if region == "us-west-2" else "us-west-2")


def vault_policy(vault):
    """The statements, without cloud-radar's "" for AWS::NoValue (in CopyTargets too)."""
    policy = present(vault["AccessPolicy"]["Statement"])
    for statement in policy:
        for test in statement.get("Condition", {}).values():
            for key, value in test.items():
                if isinstance(value, list):
                    test[key] = present(value)
    return policy


def copy_into(principal_account):
    """Admits copies from the organisation (B, principal_account "*") or from one account (copies
    back into R); never narrowed by aws:PrincipalArn (docs/AWS-BEHAVIOUR.md §19 item 61)."""
    return {
        "Sid": "CopyIntoFromOrganization",
        "Effect": "Allow",
        "Principal": "*" if principal_account == "*" else {"AWS": f"arn:aws:iam::{principal_account}:root"},
        "Action": "backup:CopyIntoBackupVault",
        "Resource": "*",
        "Condition": {"StringEquals": {"aws:PrincipalOrgID": ORG}},
    }


def copy_from_only(*targets):
    return {
        "Sid": "CopyFromOnlyToBackupVault",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "backup:CopyFromBackupVault",
        "Resource": "*",
        "Condition": {"ForAnyValue:ArnNotLike": {"backup:CopyTargets": list(targets)}},
    }


def test_sample_vault_policies(instance):
    account, region, template = instance
    vault = template["Resources"]["SampleVault"]["Properties"]
    assert vault["BackupVaultName"] == VAULT
    assert "EncryptionKeyArn" not in vault  # aws/backup
    deny = copy_from_only(copy_target(account, region))
    if kind(account) == "R":
        assert vault_policy(vault) == [deny]
    else:
        assert vault_policy(vault) == [copy_into("*"), deny]


@pytest.mark.parametrize("account, region", MINIMUM_LAYOUT)
def test_allow_copy_back_admits_only_the_copy_back_path(account, region):
    vault = rendered(account, region, AllowCopyBack="true")["Resources"]["SampleVault"]["Properties"]
    here = f"arn:aws:backup:{region}:*:backup-vault:{VAULT}"
    if kind(account) == "R":
        # R's vault admits copies from B's copy role only; what leaves it is unchanged.
        assert vault_policy(vault) == [copy_into(BACKUP), copy_from_only(copy_target(account, region))]
    else:
        # B's vault may also copy to a vault of the same name in this region (the source's).
        assert vault_policy(vault) == [copy_into("*"), copy_from_only(copy_target(account, region), here)]


@pytest.mark.parametrize("account, region", MINIMUM_LAYOUT)
def test_air_gapped_sample_vault_in_the_backup_account_only(account, region):
    resources = rendered(account, region, BackupVaultType="air-gapped", BackupVaultRetention="7-3650")["Resources"]
    if kind(account) == "R":
        assert "SampleAirGappedVault" not in resources and "SampleVault" in resources
        return
    assert "SampleVault" not in resources
    vault = resources["SampleAirGappedVault"]
    assert vault["Type"] == "AWS::Backup::LogicallyAirGappedBackupVault"
    assert vault["DeletionPolicy"] == "Retain"
    properties = vault["Properties"]
    assert (properties["BackupVaultName"], properties["MinRetentionDays"], properties["MaxRetentionDays"]) == (
        VAULT,
        "7",
        "3650",
    )
    assert vault_policy(properties) == [copy_into("*"), copy_from_only(copy_target(account, region))]


def test_vault_key_is_this_regions_replica():
    key = "arn:aws:kms:us-west-2:000011112222:key/mrk-0123456789abcdef0123456789abcdef"
    for account, region in MINIMUM_LAYOUT:
        vault = rendered(account, region, VaultCustomKmsKey=key)["Resources"]["SampleVault"]["Properties"]
        assert vault["EncryptionKeyArn"] == key.replace("us-west-2", region)
    logs_key = "arn:aws:kms:us-east-1:000011112222:key/0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0"
    group = rendered(MAIN, "us-east-1", CloudWatchLogsKmsKey=logs_key)["Resources"]["FunctionLogGroup"]
    assert group["Properties"]["KmsKeyId"] == logs_key


def test_outputs(instance):
    account, region, template = instance
    outputs = {name: output["Value"] for name, output in template["Outputs"].items()}
    expected = {
        "ErrorQueueUrl": "ErrorQueue",
        "ErrorQueueArn": "ErrorQueue.Arn",
        "FunctionName": "Function",
        "VaultArn": vault_arn(account, region),
    }
    if kind(account) == "B":
        expected["EventBusArn"] = "CopyEventBus.Arn"
    assert outputs == expected


def test_arns_are_partition_aware():
    from backup_events_aws import template

    text = template.TEMPLATE.read_text()
    lines = text.split("\n")
    begin, end, _ = template._block(lines)
    hand_written = [line for line in lines[:begin] + lines[end:] if "AllowedPattern" not in line]
    assert not [line for line in hand_written if "arn:aws:" in line]
    assert sum("${AWS::Partition}" in line for line in hand_written) > 10


def test_reserved_concurrency_paces_the_function_unless_zero():
    """FunctionReservedConcurrency (default 5) becomes ReservedConcurrentExecutions; 0 leaves
    the function unreserved (a reservation of 0 would stop it altogether)."""
    function = rendered(MAIN, "us-east-1")["Resources"]["Function"]["Properties"]
    assert function["ReservedConcurrentExecutions"] == 5
    unreserved = rendered(MAIN, "us-east-1", FunctionReservedConcurrency=0)["Resources"]["Function"]
    assert "ReservedConcurrentExecutions" not in unreserved["Properties"]
