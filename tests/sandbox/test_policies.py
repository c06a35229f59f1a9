"""The sandbox's IAM policy evaluator (policies.py): operators with AWS semantics, and the
template's own policies judged by it (docs/AWS-BEHAVIOUR.md §7; IAM condition operator reference)."""

from __future__ import annotations

import pytest

from backup_events_aws.sandbox import Organization
from backup_events_aws.sandbox import backup as sandbox_backup
from backup_events_aws.sandbox.policies import (
    Request,
    UnsupportedPolicy,
    access_allowed,
    decide,
    is_allowed,
    is_denied,
    statements_of,
)

# The module's organisation is built once: on pytest-xdist workers (make test), all its tests
# run on the same one (--dist loadgroup).
pytestmark = pytest.mark.xdist_group("test_policies")

MAIN, BACKUP, OTHER = "000022224444", "999977775555", "111122223333"
EAST, WEST = "us-east-1", "us-west-2"
RULE = f"arn:aws:events:{EAST}:{MAIN}:rule/BackupEvents-JobFailed"
QUEUE = f"arn:aws:sqs:{EAST}:{MAIN}:errors"


def statement(condition=None, effect="Allow", action="sqs:SendMessage", principal="*", resource="*"):
    s = {"Effect": effect, "Principal": principal, "Action": action, "Resource": resource}
    if condition is not None:
        s["Condition"] = condition
    return s


def holds(condition, **context) -> bool:
    return is_allowed([statement(condition)], Request("sqs:SendMessage", QUEUE, context=context), True)


@pytest.mark.parametrize("operator", ["ArnNotEquals", "ArnNotLike", "StringNotEquals", "StringNotLike"])
def test_negated_operators_match_a_missing_key_and_any_value_outside_the_list(operator):
    condition = {operator: {"aws:SourceArn": [RULE, "arn:aws:events:us-east-1:000022224444:rule/Other"]}}
    assert holds(condition)  # key absent: "not equal" holds
    assert holds(condition, **{"aws:SourceArn": RULE.replace("JobFailed", "Third")})
    assert not holds(condition, **{"aws:SourceArn": RULE})


def test_like_operators_use_wildcards_and_arn_operators_match_part_by_part():
    assert holds({"StringLike": {"aws:SourceArn": "arn:aws:events:*:rule/Backup?vents-*"}}, **{"aws:SourceArn": RULE})
    assert not holds({"StringEquals": {"aws:SourceArn": "arn:aws:events:*"}}, **{"aws:SourceArn": RULE})
    assert holds({"ArnLike": {"aws:SourceArn": "arn:aws:events:*:*:rule/*"}}, **{"aws:SourceArn": RULE})
    # a '*' in one ARN part does not swallow the colons of the others
    assert not holds({"ArnLike": {"aws:SourceArn": "arn:aws:events:*"}}, **{"aws:SourceArn": RULE})
    assert not holds({"StringLike": {"k": "[ab]"}}, k="a")  # only * and ? are special
    assert not holds({"ArnEquals": {"aws:SourceArn": RULE}})  # positive operator, missing key


def test_set_operators_if_exists_null_and_bool():
    targets = {"backup:CopyTargets": [f"arn:aws:backup:{EAST}:{BACKUP}:backup-vault:V"]}
    inside, outside = f"arn:aws:backup:{EAST}:{BACKUP}:backup-vault:V", f"arn:aws:backup:{EAST}:{OTHER}:backup-vault:V"
    all_not_like = {"ForAllValues:ArnNotLike": targets}
    assert holds(all_not_like, **{"backup:CopyTargets": [outside]})
    assert not holds(all_not_like, **{"backup:CopyTargets": [inside, outside]})
    assert holds(all_not_like)  # ForAllValues: a missing key holds
    any_like = {"ForAnyValue:ArnLike": targets}
    assert holds(any_like, **{"backup:CopyTargets": [outside, inside]})
    assert not holds(any_like, **{"backup:CopyTargets": [outside]})
    assert not holds(any_like)  # ForAnyValue: a missing key does not
    assert not holds({"ForAnyValue:StringNotEquals": {"k": "a"}})
    assert holds({"ForAnyValue:StringNotEquals": {"k": "a"}}, k=["a", "b"])
    assert holds({"StringEqualsIfExists": {"aws:SourceAccount": MAIN}})
    assert not holds({"StringEqualsIfExists": {"aws:SourceAccount": MAIN}}, **{"aws:SourceAccount": OTHER})
    assert holds({"Null": {"aws:SourceArn": "true"}}) and not holds({"Null": {"aws:SourceArn": "false"}})
    assert holds({"Null": {"aws:SourceArn": "false"}}, **{"aws:SourceArn": RULE})
    assert holds({"Bool": {"aws:SecureTransport": "false"}}, **{"aws:SecureTransport": "False"})
    assert holds({"Bool": {"aws:SecureTransport": True}}, **{"aws:SecureTransport": "true"})
    assert not holds({"Bool": {"aws:SecureTransport": "false"}})  # missing: no match
    assert holds({"BoolIfExists": {"aws:SecureTransport": "false"}})


@pytest.mark.parametrize(
    "operator",
    ["NumericLessThan", "DateGreaterThan", "ForEveryValue:StringLike", "StringFancy", "ForAllValues:NullIfExists"],
)
def test_an_unknown_operator_raises_rather_than_guesses(operator):
    with pytest.raises(UnsupportedPolicy):
        holds({operator: {"k": "v"}}, k="v")


def test_actions_match_case_insensitively_with_wildcards_and_principals():
    request = Request("SQS:SendMessage", QUEUE, service="events.amazonaws.com")
    assert is_allowed([statement(action="sqs:send*", principal={"Service": "events.amazonaws.com"})], request, True)
    assert is_allowed([statement(action="SQS:SENDMESSAG?")], request, True)
    assert not is_allowed([statement(action="sqs:Receive*")], request, True)
    assert not is_allowed([statement(principal={"Service": "lambda.amazonaws.com"})], request, True)
    assert not is_allowed([statement(principal={"AWS": MAIN})], request, True)  # a service is no account
    role = Request("sqs:SendMessage", QUEUE, principal_account=MAIN, principal_arn=f"arn:aws:iam::{MAIN}:role/R")
    for principal in (MAIN, f"arn:aws:iam::{MAIN}:root", f"arn:aws:iam::{MAIN}:role/R", "*"):
        assert is_allowed([statement(principal={"AWS": principal})], role, True)
    assert not is_allowed([statement(principal={"AWS": f"arn:aws:iam::{OTHER}:root"})], role, True)
    # an explicit Deny wins; an identity policy checks no principal
    assert decide([statement(), statement(effect="Deny")], role, True) == "Deny"
    assert is_denied([statement(effect="Deny", action="sqs:*")], role, False)
    # same account: an identity Allow suffices; across accounts the resource policy must allow too
    assert access_allowed([statement()], [], role, same_account=True)
    assert not access_allowed([statement()], [], role, same_account=False)
    assert not access_allowed([], [], role, same_account=True)


# ---------------------------------------------------------------------------- the template's policies


@pytest.fixture(scope="module")
def deployed():
    with Organization.minimum() as org:
        yield org


def error_queue_policy(org: Organization, account: str, region: str) -> tuple[str, list[dict]]:
    from moto.sqs.models import sqs_backends

    url = org.stack_outputs(account, region)["ErrorQueueUrl"]
    queue = sqs_backends[account][region].get_queue(url.rsplit("/", 1)[-1])
    return queue.queue_arn, statements_of(queue.policy)


def test_the_error_queue_admits_this_stacks_rules_and_function_role_only(deployed):
    org = deployed
    queue_arn, statements = error_queue_policy(org, MAIN, EAST)
    assert "OnlyThisStacksSenders" in {s.get("Sid") for s in statements}
    resources = org.stack_resources(MAIN, EAST)
    own_rules = [
        f"arn:aws:events:{EAST}:{MAIN}:rule/{resources[name]['id']}"
        for name in ("JobFailedRule", "BackupCompletedRule", "CopyCompletedRule", "SweepRule")
    ]

    def from_rule(rule_arn: str) -> Request:
        return Request(
            "sqs:SendMessage",
            queue_arn,
            service="events.amazonaws.com",
            context={"aws:SourceArn": rule_arn, "aws:SourceAccount": MAIN},
        )

    for rule_arn in own_rules:
        assert is_allowed(statements, from_rule(rule_arn), check_principal=True), rule_arn
    other_stack = f"arn:aws:events:{EAST}:{MAIN}:rule/OtherStack-JobFailed"
    assert is_denied(statements, from_rule(other_stack), check_principal=True)
    # The function's on-failure records: sent with the function role (its identity policy allows).
    role_name = resources["FunctionRole"]["id"]
    role_arn = org.client("iam", MAIN, EAST).get_role(RoleName=role_name)["Role"]["Arn"]
    as_role = Request("sqs:SendMessage", queue_arn, principal_account=MAIN, principal_arn=role_arn)
    assert decide(statements, as_role, check_principal=True) == "NoMatch"  # not denied
    another_role = Request(
        "sqs:SendMessage", queue_arn, principal_account=MAIN, principal_arn=f"arn:aws:iam::{MAIN}:role/SomeoneElse"
    )
    assert is_denied(statements, another_role, check_principal=True)


def test_the_sample_vault_refuses_a_copy_to_any_other_vault(deployed):
    org = deployed
    policy = org.client("backup", MAIN, EAST).get_backup_vault_access_policy(BackupVaultName=org.vault_name)["Policy"]
    role = org.copy_role_arn(MAIN)

    def copy_to(target: str) -> Request:
        return Request(
            "backup:CopyFromBackupVault",
            f"arn:aws:backup:{EAST}:{MAIN}:recovery-point:x",
            principal_account=MAIN,
            principal_arn=role,
            context={"backup:CopyTargets": [target]},
        )

    backup_vault = f"arn:aws:backup:{EAST}:{BACKUP}:backup-vault:{org.vault_name}"
    assert not is_denied(statements_of(policy), copy_to(backup_vault), check_principal=True)
    for elsewhere in (backup_vault.replace(BACKUP, OTHER), backup_vault.replace(EAST, WEST), backup_vault + "-2"):
        assert is_denied(statements_of(policy), copy_to(elsewhere), check_principal=True), elsewhere
    # A copy with several targets (a plan rule with several copy actions), one of them not ours:
    # denied (docs/AWS-BEHAVIOUR.md §7; ForAllValues would have let it pass).
    mixed = Request(
        "backup:CopyFromBackupVault",
        f"arn:aws:backup:{EAST}:{MAIN}:recovery-point:x",
        principal_account=MAIN,
        principal_arn=role,
        context={"backup:CopyTargets": [backup_vault, backup_vault.replace(BACKUP, OTHER)]},
    )
    assert is_denied(statements_of(policy), mixed, check_principal=True)
    # and the emulation applies it: a copy to another vault (same account: no destination policy
    # is needed, so only the source vault's Deny can refuse it) fails
    org.client("backup", MAIN, EAST).create_backup_vault(BackupVaultName="Elsewhere")
    deployed.backup_service.set_event_sink(deployed.backup_service.recorded_events.append)  # no function reacts
    resource = org.create_resource("EFS", MAIN, EAST)
    point = deployed.backup_service.put_recovery_point(MAIN, EAST, org.vault_name, resource)
    job = org.client("backup", MAIN, EAST).start_copy_job(
        RecoveryPointArn=point,
        SourceBackupVaultName=org.vault_name,
        IamRoleArn=role,
        DestinationBackupVaultArn=f"arn:aws:backup:{EAST}:{MAIN}:backup-vault:Elsewhere",
    )["CopyJobId"]
    org.advance(3600)
    [copy] = [j for j in deployed.backup_service.copy_jobs() if j.job_id == job]
    assert (copy.state, copy.status_message) == ("FAILED", sandbox_backup.MSG_ACCESS_DENIED)
