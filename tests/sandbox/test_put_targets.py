"""PutTargets to another account's event bus is checked when the targets are put: the bus must
exist and its policy must admit the rule's account (docs/AWS-BEHAVIOUR.md §14, reported by others,
modelled strictly). Hence the backup account's stacks go first."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from backup_events_aws.sandbox import Organization
from backup_events_aws.sandbox.organization import STACK_NAME

MAIN, BACKUP, OUTSIDER = "000022224444", "999977775555", "123456789012"
EAST = "us-east-1"


@pytest.fixture
def org():
    organization = Organization.minimum().start(deploy=False)
    try:
        yield organization
    finally:
        organization.stop()


def deploy_one(org: Organization, account: str, region: str) -> None:
    parameters = [{"ParameterKey": k, "ParameterValue": str(v)} for k, v in org.layout.template_parameters().items()]
    org.client("cloudformation", account, region).create_stack(
        StackName=STACK_NAME,
        TemplateBody=org.template_body(),
        Parameters=parameters,
        Capabilities=["CAPABILITY_NAMED_IAM"],
    )


def rule_with_bus_target(org: Organization, account: str, bus_arn: str) -> None:
    events = org.client("events", account, EAST)
    events.put_rule(Name="Forward", EventPattern=json.dumps({"source": ["custom"]}))
    events.put_targets(
        Rule="Forward", Targets=[{"Id": "bus", "Arn": bus_arn, "RoleArn": f"arn:aws:iam::{account}:role/Forward"}]
    )


def test_a_resource_account_stack_before_the_backup_accounts_bus_exists_fails(org):
    with pytest.raises(Exception) as excinfo:
        deploy_one(org, MAIN, EAST)
    assert "Event bus BackupEvents does not exist." in str(excinfo.value)


def test_the_bus_must_exist_and_admit_the_rules_account(org):
    bus_arn = f"arn:aws:events:{EAST}:{BACKUP}:event-bus/BackupEvents"
    with pytest.raises(ClientError) as excinfo:
        rule_with_bus_target(org, MAIN, bus_arn)
    assert excinfo.value.response["Error"]["Code"] == "ResourceNotFoundException"
    deploy_one(org, BACKUP, EAST)  # creates the bus, whose policy admits the organisation
    rule_with_bus_target(org, MAIN, bus_arn)
    with pytest.raises(ClientError) as excinfo:
        rule_with_bus_target(org, OUTSIDER, bus_arn)  # not a member of the organisation
    error = excinfo.value.response["Error"]
    assert error["Code"] == "AccessDeniedException"
    assert error["Message"] == (
        f"User: arn:aws:iam::{OUTSIDER}:root is not authorized to perform: events:PutEvents "
        f"on resource: {bus_arn} because no resource-based policy allows the "
        "events:PutEvents action"
    )


def test_stackset_account_filters_select_as_cloudformation_does():
    from backup_events_aws.sandbox.stacksets import filtered_accounts

    ou = ["111111111111", BACKUP, MAIN]
    assert filtered_accounts(ou, [BACKUP], "INTERSECTION") == [BACKUP]
    assert filtered_accounts(ou, [BACKUP], "DIFFERENCE") == ["111111111111", MAIN]
    assert filtered_accounts(ou, [OUTSIDER], "UNION") == [*ou, OUTSIDER]
    assert filtered_accounts(ou, [], None) == ou
    with pytest.raises(ValueError):
        filtered_accounts(ou, [], "SOME")
