"""The sandbox refuses at deploy time what IAM and CloudFormation refuse, with their words.

docs/AWS-BEHAVIOUR.md §11.1, §11.2 (policies) and §12 (parameters and Rules).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from urllib.parse import unquote

import botocore.exceptions
import pytest
from moto import mock_aws
from stack_helpers import client

from backup_events_aws import parameter_checks
from backup_events_aws.sandbox import cloudformation as sandbox_cloudformation
from backup_events_aws.sandbox import iam_validation
from backup_events_aws.sandbox.backup.models import recovery_point_arn
from backup_events_aws.sandbox.organization import STACK_NAME, Organization

UNIQUE = "1b2c3d4e-5f60-4a7b-8c9d-0e1f2a3b4c5d"  # the random part of a recovery point ARN
ROOT = Path(__file__).resolve().parents[2]
TODAYS_TEMPLATE = ROOT / "tests" / "fixtures" / "templates" / "v0.1.0-wildcard-service.yaml"
ACCOUNT = "111111111111"
REGION = "us-west-2"
VENDOR = "Resource vendor must be fully qualified and cannot contain regexes."


def identity(*statements):
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(action, resource, **extra):
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def messages(document, kind="identity", partition="aws"):
    return [p.message for p in iam_validation.policy_problems(document, kind, partition)]


# --- the validator ----------------------------------------------------------------


@pytest.mark.parametrize(
    "resource, message",
    [
        ("arn:aws:*:us-east-1:*:*", VENDOR),
        ("arn:aws:ba?kup:us-east-1:111111111111:backup-vault:v", VENDOR),
        ("arn:aws:backup", VENDOR),
        (
            "arn:*:backup:us-east-1:111111111111:backup-vault:v",
            'Partition "*" is not valid for resource "arn:*:backup:us-east-1:111111111111:backup-vault:v".',
        ),
        (
            "arn:aws-cn:backup:us-east-1:111111111111:backup-vault:v",
            'Partition "aws-cn" is not valid for resource "arn:aws-cn:backup:us-east-1:111111111111:backup-vault:v".',
        ),
        ("backup-vault/v", 'Resource backup-vault/v must be in ARN format or "*".'),
    ],
)
def test_arn_grammar_is_iams(resource, message):
    assert messages(identity(allow("backup:DescribeBackupVault", resource))) == [message]


def test_iam_arns_carry_no_region():
    assert messages(identity(allow("iam:PassRole", "arn:aws:iam:us-east-1:111111111111:role/r"))) == [
        "IAM resource arn:aws:iam:us-east-1:111111111111:role/r cannot contain region information."
    ]


def test_the_partition_is_the_stacks():
    document = identity(allow("backup:DescribeBackupVault", "arn:aws:backup:cn-north-1:1:backup-vault:v"))
    assert messages(document, partition="aws-cn") == [
        'Partition "aws" is not valid for resource "arn:aws:backup:cn-north-1:1:backup-vault:v".'
    ]
    assert messages(json.loads(json.dumps(document).replace("arn:aws:", "arn:aws-cn:")), partition="aws-cn") == []


@pytest.mark.parametrize(
    "resource_type",
    [
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
    ],
)
def test_backup_recovery_point_actions_accept_each_documented_recovery_point_arn(resource_type):
    arn = recovery_point_arn(
        ACCOUNT, REGION, resource_type, "0b1c2d3e", False, unique=UNIQUE, hex17="0123456789abcdef0"
    )
    for action in ("backup:StartCopyJob", "backup:DescribeRecoveryPoint", "backup:UpdateRecoveryPointLifecycle"):
        assert messages(identity(allow(action, arn))) == [], (action, arn)


def test_a_resource_of_another_type_is_refused():
    vault = f"arn:aws:backup:{REGION}:{ACCOUNT}:backup-vault:v"
    problems = messages(identity(allow("backup:StartCopyJob", vault)))
    assert len(problems) == 2
    assert problems[0].startswith("No Resource of this statement is of a resource type of backup:StartCopyJob")
    assert problems[1] == f"Resource {vault} is of no resource type of the statement's actions (backup:StartCopyJob)."
    # an action without resource-level permissions takes "*" only
    assert messages(identity(allow("backup:ListCopyJobs", vault)))[0].endswith(
        'expected "*" (no resource-level permissions).'
    )
    assert messages(identity(allow("backup:ListCopyJobs", "*"))) == []


def test_actions_must_exist():
    assert messages(identity(allow("backup:StartCopyJobs", "*"))) == [
        "Action backup:StartCopyJobs matches no action of the Service Authorization Reference."
    ]
    assert messages(identity(allow("backup:Describe*", "*"))) == []
    assert messages(identity(allow("nosuchservice:Do", "*"))) == [
        "Action nosuchservice:Do matches no action of the Service Authorization Reference."
    ]


def test_condition_keys_operators_and_qualifiers():
    role = "arn:aws:iam::111111111111:role/r"
    assert (
        messages(
            identity(
                allow("iam:PassRole", role, Condition={"StringEquals": {"iam:PassedToService": "backup.amazonaws.com"}})
            )
        )
        == []
    )
    assert messages(
        identity(
            allow(
                "sqs:SendMessage",
                "arn:aws:sqs:us-east-1:1:q",
                Condition={"StringEquals": {"iam:PassedToService": "backup.amazonaws.com"}},
            )
        )
    ) == ["Condition key iam:PassedToService applies to none of the statement's actions (sqs:SendMessage)."]
    assert messages(identity(allow("iam:PassRole", role, Condition={"StringEquals": {"aws:NoSuchKey": "x"}}))) == [
        "Condition key aws:NoSuchKey is neither a global condition key nor a key of service aws."
    ]
    assert messages(identity(allow("iam:PassRole", role, Condition={"ArnLike": {"aws:PrincipalOrgID": "o-*"}}))) == [
        "Condition operator ArnLike does not fit key aws:PrincipalOrgID of type String."
    ]
    assert messages(
        identity(
            allow("iam:PassRole", role, Condition={"ForAllValues:StringEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}})
        )
    ) == ["ForAllValues is for multivalued keys; aws:PrincipalOrgID is single-valued (String)."]
    assert messages(identity(allow("iam:PassRole", role, Condition={"Bool": {"aws:SecureTransport": "yes"}}))) == [
        "Condition Bool on aws:SecureTransport takes true or false."
    ]
    vault_policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Deny",
                "Principal": "*",
                "Action": "backup:CopyFromBackupVault",
                "Resource": "*",
                "Condition": {"ForAllValues:ArnNotLike": {"backup:CopyTargets": "arn:aws:backup:*:1:backup-vault:v"}},
            }
        ],
    }
    assert messages(vault_policy, "resource") == []


def test_principals_belong_to_resource_and_trust_policies_only():
    assert messages(identity(allow("backup:ListCopyJobs", "*", Principal="*"))) == [
        "Policy document should not specify a principal."
    ]
    assert messages(identity(allow("backup:ListCopyJobs", "*")), "resource") == [
        "Statement is missing required element Principal."
    ]
    trust = identity(
        {
            "Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"},
            "Action": "sts:AssumeRole",
            "Resource": "*",
        }
    )
    assert messages(trust, "trust") == ["Has prohibited field Resource."]


# --- deploying: policies ----------------------------------------------------------------


@pytest.fixture
def organization():
    """The minimum layout, started without stacks: each test deploys what it needs."""
    org = Organization.minimum(template_path=TODAYS_TEMPLATE)
    org.start(deploy=False)
    try:
        yield org
    finally:
        org.stop()


def _create(org, instance, parameters=None):
    values = dict(org.layout.template_parameters(), **(parameters or {}))
    cloudformation = org.client("cloudformation", instance.account, instance.region)
    cloudformation.create_stack(
        StackName=STACK_NAME,
        TemplateBody=org.template_body(),
        Capabilities=["CAPABILITY_NAMED_IAM"],
        Parameters=[{"ParameterKey": k, "ParameterValue": str(v)} for k, v in values.items()],
    )
    return cloudformation


def test_todays_template_is_refused_with_iams_reason(organization):
    for instance in organization.layout.instances():
        cloudformation = _create(organization, instance)
        stack = cloudformation.describe_stacks(StackName=STACK_NAME)["Stacks"][0]
        assert stack["StackStatus"] == "ROLLBACK_COMPLETE"
        assert stack["StackStatusReason"] == (
            "The following resource(s) failed to create: [FunctionRole]. Rollback requested by user."
        )
        assert "Outputs" not in stack
        failed = [
            e
            for e in cloudformation.describe_stack_events(StackName=STACK_NAME)["StackEvents"]
            if e["ResourceStatus"] == "CREATE_FAILED"
        ]
        assert [e["LogicalResourceId"] for e in failed] == ["FunctionRole"]
        reason = failed[0]["ResourceStatusReason"]
        assert f'"MalformedPolicyDocument: {VENDOR} (Service: Iam, Status Code: 400)"' in reason
        assert "(policy BackupEvents, statement #" in reason
        # Rolled back: what was created before the role is gone (the function's log group).
        logs = organization.client("logs", instance.account, instance.region)
        assert logs.describe_log_groups(logGroupNamePrefix="/aws/lambda/")["logGroups"] == []


def test_the_fixed_template_deploys_in_every_instance_of_both_layouts():
    for org in (Organization.minimum(), Organization.typical()):
        org.start()  # raises unless every stack is CREATE_COMPLETE
        try:
            for instance in org.layout.instances():
                stack = org.client("cloudformation", instance.account, instance.region).describe_stacks(
                    StackName=STACK_NAME
                )["Stacks"][0]
                assert stack["StackStatus"] == "CREATE_COMPLETE"
        finally:
            org.stop()


@pytest.fixture
def stack_account():
    os.environ.update({"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"})
    os.environ.pop("MOTO_ACCOUNT_ID", None)
    with mock_aws():
        support = sandbox_cloudformation.CloudFormationSupport().install()
        try:
            yield ACCOUNT
        finally:
            support.uninstall()


@pytest.mark.parametrize(
    "resource, reason",
    [
        (
            {
                "Type": "AWS::SQS::QueuePolicy",
                "Properties": {
                    "Queues": [{"Ref": "Queue"}],
                    "PolicyDocument": {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Principal": "*",
                                "Action": "sqs:SendMessage",
                                "Resource": "arn:aws:*:us-west-2:*:*",
                            }
                        ],
                    },
                },
            },
            f'"MalformedPolicyDocument: {VENDOR} (Service: Sqs, Status Code: 400)" (PolicyDocument, statement #1)',
        ),
        (
            {
                "Type": "AWS::Backup::BackupVault",
                "Properties": {
                    "BackupVaultName": "v",
                    "AccessPolicy": {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Sid": "In",
                                "Effect": "Allow",
                                "Principal": "*",
                                "Action": "backup:CopyIntoBackupVault",
                                "Resource": "*",
                                "Condition": {"ForAnyValue:StringEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}},
                            }
                        ],
                    },
                },
            },
            "ForAnyValue is for multivalued keys; aws:PrincipalOrgID is single-valued (String). "
            '(Service: Backup, Status Code: 400)" (AccessPolicy, statement In)',
        ),
    ],
)
def test_any_resources_refused_policy_fails_the_stack(stack_account, resource, reason):
    cloudformation = client("cloudformation", stack_account, REGION)
    cloudformation.create_stack(
        StackName="s",
        TemplateBody=json.dumps(
            {"Resources": {"Queue": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "q"}}, "Refused": resource}}
        ),
    )
    stack = cloudformation.describe_stacks(StackName="s")["Stacks"][0]
    assert stack["StackStatus"] == "ROLLBACK_COMPLETE"
    failed = [
        e
        for e in cloudformation.describe_stack_events(StackName="s")["StackEvents"]
        if e["ResourceStatus"] == "CREATE_FAILED"
    ]
    assert [e["LogicalResourceId"] for e in failed] == ["Refused"]
    assert failed[0]["ResourceStatusReason"].endswith(reason)


# --- deploying: parameters and Rules ------------------------------------------------------


@pytest.mark.parametrize(
    "parameters, message",
    [
        (
            {"OrgId": "org-123"},
            "Parameter OrgId failed to satisfy constraint: an organization ID looks like o-a1b2c3d4e5",
        ),
        (
            {"VaultName": "Default"},
            "VaultName cannot be Default: AWS Backup can't copy into the Default vault from "
            "another account. Name another vault",
        ),
        (
            {"NewDeleteAfterDays": "0"},
            "Parameter NewDeleteAfterDays failed to satisfy constraint: a whole number of days from 1 to 36500",
        ),
        (
            {"AlertAfterHours": "8761"},
            "Parameter AlertAfterHours failed to satisfy constraint: a whole number of hours from 1 to 8760",
        ),
        ({"EnableCopy": "yes"}, "Parameter 'EnableCopy' must be one of AllowedValues"),
        (
            {"BackupRegionAlternate": "us-west-2"},
            "BackupRegionAlternate must differ from BackupRegion: it receives "
            "copy 2 of the backups already in the backup region",
        ),
        ({"Surprise": "x"}, "Parameters: [Surprise] do not exist in the template"),
    ],
)
def test_bad_parameters_are_refused_before_any_resource_exists(parameters, message):
    org = Organization.minimum()
    org.start(deploy=False)
    try:
        instance = org.layout.instances()[0]
        with pytest.raises(botocore.exceptions.ClientError) as refused:
            _create(org, instance, parameters)
        assert refused.value.response["Error"]["Code"] == "ValidationError"
        assert refused.value.response["Error"]["Message"] == message
        cloudformation = org.client("cloudformation", instance.account, instance.region)
        assert cloudformation.list_stacks()["StackSummaries"] == []  # no stack, no resource
        logs = org.client("logs", instance.account, instance.region)
        assert logs.describe_log_groups()["logGroups"] == []
    finally:
        org.stop()


def test_update_stack_checks_parameters_too():
    with Organization.minimum() as org:
        instance = org.layout.instances()[0]
        cloudformation = org.client("cloudformation", instance.account, instance.region)
        with pytest.raises(botocore.exceptions.ClientError) as refused:
            cloudformation.update_stack(
                StackName=STACK_NAME,
                UsePreviousTemplate=True,
                Capabilities=["CAPABILITY_NAMED_IAM"],
                Parameters=[
                    {"ParameterKey": k, "UsePreviousValue": True}
                    for k in org.layout.template_parameters()
                    if k != "OrgId"
                ]
                + [{"ParameterKey": "OrgId", "ParameterValue": "org-123"}],
            )
        assert refused.value.response["Error"]["Code"] == "ValidationError"
        assert refused.value.response["Error"]["Message"].startswith("Parameter OrgId failed to satisfy constraint")


def test_required_parameters_without_a_value_are_named():
    template = {
        "Parameters": {"A": {"Type": "String"}, "B": {"Type": "String"}, "C": {"Type": "String", "Default": ""}}
    }
    assert parameter_checks.refusals(template, {}) == ["Parameters: [A, B] must have values"]


@pytest.mark.parametrize(
    "spec, value, message",
    [
        ({"Type": "String", "AllowedPattern": "^[a-z]+$"}, "A1", "Parameter 'P' must match pattern ^[a-z]+$"),
        ({"Type": "String", "MinLength": 3}, "ab", "Parameter 'P' must contain at least 3 characters"),
        ({"Type": "String", "MaxLength": 3}, "abcd", "Parameter 'P' must contain at most 3 characters"),
        ({"Type": "Number"}, "ten", "Parameter 'P' must be a number"),
        ({"Type": "Number", "MinValue": 1}, "0", "Parameter 'P' must be a number not less than 1"),
        ({"Type": "Number", "MaxValue": 9}, "10", "Parameter 'P' must be a number not greater than 9"),
        (
            {"Type": "CommaDelimitedList", "AllowedPattern": "^[a-z]+$"},
            "ab,c1",
            "Parameter 'P' must match pattern ^[a-z]+$",
        ),
        (
            {"Type": "String", "AllowedValues": ["a"], "ConstraintDescription": "say a"},
            "b",
            "Parameter P failed to satisfy constraint: say a",
        ),
        ({"Type": "Strin"}, "x", "Template format error: Unrecognized parameter type: Strin"),
    ],
)
def test_each_constraint_has_cloudformations_message(spec, value, message):
    assert parameter_checks.refusals({"Parameters": {"P": spec}}, {"P": value}) == [message]


def test_a_stack_set_instance_refused_is_outdated_with_the_reason(stack_account):
    cloudformation = client("cloudformation", stack_account, REGION)
    template = {
        "Parameters": {"OrgId": {"Type": "String", "AllowedPattern": "^o-[a-z0-9]{10,32}$"}},
        "Resources": {"Queue": {"Type": "AWS::SQS::Queue"}},
    }
    cloudformation.create_stack_set(
        StackSetName="set",
        TemplateBody=json.dumps(template),
        Parameters=[{"ParameterKey": "OrgId", "ParameterValue": "org-123"}],
    )
    operation = cloudformation.create_stack_instances(StackSetName="set", Accounts=[stack_account], Regions=[REGION])[
        "OperationId"
    ]
    assert (
        cloudformation.describe_stack_set_operation(StackSetName="set", OperationId=operation)["StackSetOperation"][
            "Status"
        ]
        == "FAILED"
    )
    instance = cloudformation.describe_stack_instance(
        StackSetName="set", StackInstanceAccount=stack_account, StackInstanceRegion=REGION
    )["StackInstance"]
    assert instance["Status"] == "OUTDATED"
    assert instance["StatusReason"] == "Parameter 'OrgId' must match pattern ^o-[a-z0-9]{10,32}$"
    assert instance["StackInstanceStatus"]["DetailedStatus"] == "FAILED"
    assert cloudformation.list_stacks()["StackSummaries"] == []


def test_moto_internals_the_deploy_checks_rely_on_are_still_there():
    # Canary: the checks wrap these private moto functions (moto is pinned).
    import inspect

    from moto.cloudformation import models, parsing

    assert list(inspect.signature(parsing.parse_resource_and_generate_name).parameters) == [
        "logical_id",
        "resource_json",
        "resources_map",
    ]
    assert list(inspect.signature(models.StackInstance.__init__).parameters)[1:] == [
        "account_id",
        "region_name",
        "stackset_id",
        "stack_name",
        "name",
        "template",
        "parameters",
        "permission_model",
    ]
    for method in ("create_resources", "update", "_add_stack_event", "parse_template"):
        assert callable(getattr(models.Stack, method))
    assert iam_validation._sar().data_version() == "0.1.202610271"


def test_a_lambda_permission_with_a_malformed_source_arn_fails_the_stack(stack_account):
    cloudformation = client("cloudformation", stack_account, REGION)
    cloudformation.create_stack(
        StackName="s",
        TemplateBody=json.dumps(
            {
                "Resources": {
                    "Role": {
                        "Type": "AWS::IAM::Role",
                        "Properties": {
                            "AssumeRolePolicyDocument": {
                                "Version": "2012-10-17",
                                "Statement": [
                                    {
                                        "Effect": "Allow",
                                        "Principal": {"Service": "lambda.amazonaws.com"},
                                        "Action": "sts:AssumeRole",
                                    }
                                ],
                            }
                        },
                    },
                    "Function": {
                        "Type": "AWS::Lambda::Function",
                        "Properties": {
                            "FunctionName": "fn",
                            "Handler": "index.h",
                            "Runtime": "python3.13",
                            "Role": {"Fn::GetAtt": ["Role", "Arn"]},
                            "Code": {"ZipFile": "def h(e, c): pass\n"},
                        },
                    },
                    "Permission": {
                        "Type": "AWS::Lambda::Permission",
                        "Properties": {
                            "FunctionName": {"Ref": "Function"},
                            "Action": "lambda:InvokeFunction",
                            "Principal": "events.amazonaws.com",
                            "SourceArn": "rule/BackupEvents",
                        },
                    },
                }
            }
        ),
    )
    assert cloudformation.describe_stacks(StackName="s")["Stacks"][0]["StackStatus"] == "ROLLBACK_COMPLETE"
    failed = [
        e
        for e in cloudformation.describe_stack_events(StackName="s")["StackEvents"]
        if e["ResourceStatus"] == "CREATE_FAILED"
    ]
    assert [e["LogicalResourceId"] for e in failed] == ["Permission"]
    assert "Value 'rule/BackupEvents' at 'sourceArn' failed to satisfy constraint" in failed[0]["ResourceStatusReason"]


def test_an_update_with_a_refused_policy_rolls_back(stack_account):
    def role_stack(resource):
        return json.dumps(
            {
                "Resources": {
                    "Role": {
                        "Type": "AWS::IAM::Role",
                        "Properties": {
                            "RoleName": "r",
                            "AssumeRolePolicyDocument": {
                                "Version": "2012-10-17",
                                "Statement": [
                                    {
                                        "Effect": "Allow",
                                        "Principal": {"Service": "lambda.amazonaws.com"},
                                        "Action": "sts:AssumeRole",
                                    }
                                ],
                            },
                            "Policies": [
                                {
                                    "PolicyName": "p",
                                    "PolicyDocument": identity(allow("backup:DescribeBackupVault", resource)),
                                }
                            ],
                        },
                    }
                }
            }
        )

    cloudformation = client("cloudformation", stack_account, REGION)
    good = f"arn:aws:backup:{REGION}:{ACCOUNT}:backup-vault:v"
    cloudformation.create_stack(StackName="s", TemplateBody=role_stack(good), Capabilities=["CAPABILITY_NAMED_IAM"])
    cloudformation.update_stack(
        StackName="s", TemplateBody=role_stack(f"arn:aws:*:{REGION}:*:*"), Capabilities=["CAPABILITY_NAMED_IAM"]
    )
    stack = cloudformation.describe_stacks(StackName="s")["Stacks"][0]
    assert stack["StackStatus"] == "UPDATE_ROLLBACK_COMPLETE"
    failed = [
        e
        for e in cloudformation.describe_stack_events(StackName="s")["StackEvents"]
        if e["ResourceStatus"] == "UPDATE_FAILED"
    ]
    assert [e["LogicalResourceId"] for e in failed] == ["Role"] and VENDOR in failed[0]["ResourceStatusReason"]
    policy = client("iam", stack_account).get_role_policy(RoleName="r", PolicyName="p")["PolicyDocument"]
    text = unquote(policy) if isinstance(policy, str) else json.dumps(policy)
    assert good in text and f"arn:aws:*:{REGION}" not in text  # the role keeps its policy


def test_a_stack_set_instance_that_passes_is_current(stack_account):
    cloudformation = client("cloudformation", stack_account, REGION)
    template = {
        "Parameters": {"OrgId": {"Type": "String", "AllowedPattern": "^o-[a-z0-9]{10,32}$"}},
        "Resources": {"Queue": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "q"}}},
    }
    cloudformation.create_stack_set(
        StackSetName="set",
        TemplateBody=json.dumps(template),
        Parameters=[{"ParameterKey": "OrgId", "ParameterValue": "o-a1b2c3d4e5"}],
    )
    operation = cloudformation.create_stack_instances(StackSetName="set", Accounts=[stack_account], Regions=[REGION])[
        "OperationId"
    ]
    assert (
        cloudformation.describe_stack_set_operation(StackSetName="set", OperationId=operation)["StackSetOperation"][
            "Status"
        ]
        == "SUCCEEDED"
    )
    instance = cloudformation.describe_stack_instance(
        StackSetName="set", StackInstanceAccount=stack_account, StackInstanceRegion=REGION
    )["StackInstance"]
    assert instance["Status"] == "CURRENT" and "StatusReason" not in instance
