"""Authorisation on every call (sandbox/authorization.py): the deployed function's own calls are
judged by its execution role's identity policies and the resources' policies, with IAM's ARN
matching and IAM's refusal text (docs/AWS-BEHAVIOUR.md §11.1, §11.3, §11.4)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import cfn_flip
import pytest

from backup_events_aws.sandbox import Organization, minimum_layout
from backup_events_aws.sandbox.authorization import role_policy_statements
from backup_events_aws.sandbox.organization import default_template_path
from backup_events_aws.sandbox.policies import Request, denial_message, evaluate, resource_matches

# The module's organisation is built once: on pytest-xdist workers (make test), all its tests
# run on the same one (--dist loadgroup).
pytestmark = pytest.mark.xdist_group("test_authorization")

MAIN, BACKUP, OTHER = "000022224444", "999977775555", "111122223333"
EAST = "us-east-1"
RECOVERY_POINT = f"arn:aws:backup:{EAST}:{MAIN}:recovery-point:1EB3B5E7"
SNAPSHOT = f"arn:aws:ec2:{EAST}::snapshot/snap-0123456789abcdef0"

# The Resource today's template gives backup:StartCopyJob / DescribeRecoveryPoint /
# UpdateRecoveryPointLifecycle: a wildcard in the service segment.
ANY_SERVICE = "arn:${AWS::Partition}:*:${AWS::Region}:*:*"
# A correct list: the recovery point ARN of every type the product copies (Service
# Authorization Reference, AWS Backup recoveryPoint, and the services' own snapshot ARNs).
EXPLICIT_RECOVERY_POINTS = [
    "arn:${AWS::Partition}:backup:${AWS::Region}:${AWS::AccountId}:recovery-point:*",
    "arn:${AWS::Partition}:ec2:${AWS::Region}::snapshot/*",
    "arn:${AWS::Partition}:ec2:${AWS::Region}::image/*",
    "arn:${AWS::Partition}:rds:${AWS::Region}:${AWS::AccountId}:snapshot:awsbackup:*",
    "arn:${AWS::Partition}:rds:${AWS::Region}:${AWS::AccountId}:cluster-snapshot:awsbackup:*",
    "arn:${AWS::Partition}:fsx:${AWS::Region}:${AWS::AccountId}:backup/*",
]
RECOVERY_POINT_ACTIONS = {"backup:StartCopyJob", "backup:DescribeRecoveryPoint", "backup:UpdateRecoveryPointLifecycle"}


# ---------------------------------------------------------------------------- ARN-aware matching


def test_resource_wildcards_stay_inside_their_arn_segment():
    assert resource_matches("*", SNAPSHOT)
    assert resource_matches(f"arn:aws:backup:{EAST}:{MAIN}:recovery-point:*", RECOVERY_POINT)
    assert resource_matches(f"arn:aws:ec2:{EAST}::snapshot/*", SNAPSHOT)
    assert resource_matches("arn:aws:ec2:*:*:snapshot/*", SNAPSHOT)  # `*` matches an empty account
    # a plain glob would let `*` run across the colons; IAM matches segment by segment
    assert not resource_matches("arn:aws:backup:*", RECOVERY_POINT)
    assert not resource_matches(f"arn:aws:backup:us-*-1:{MAIN}", RECOVERY_POINT)
    # the sixth segment is the resource id: there a wildcard may cover `:` and `/`
    assert resource_matches(
        f"arn:aws:rds:{EAST}:{MAIN}:snapshot:*", f"arn:aws:rds:{EAST}:{MAIN}:snapshot:awsbackup:job-1"
    )
    # no wildcard in the service segment: the pattern matches nothing (strict reading)
    assert not resource_matches(f"arn:aws:*:{EAST}:*:*", RECOVERY_POINT)
    assert not resource_matches(f"arn:aws:ec?:{EAST}::snapshot/*", SNAPSHOT)
    assert not resource_matches("backup-vault/*", RECOVERY_POINT)  # not an ARN


def role_request(action: str = "backup:StartCopyJob", resource: str = RECOVERY_POINT, **context: str) -> Request:
    role = f"arn:aws:iam::{MAIN}:role/Function"
    return Request(
        action,
        resource,
        principal_account=MAIN,
        principal_arn=role,
        session_arn=f"arn:aws:sts::{MAIN}:assumed-role/Function/fn",
        context=context,
    )


def allow(resource: Any, action: str = "backup:StartCopyJob", principal: Any = None, **extra: Any) -> dict:
    statement = {"Effect": "Allow", "Action": action, "Resource": resource, **extra}
    if principal is not None:
        statement["Principal"] = principal
    return statement


def test_identity_and_resource_policies_combine_as_iam_does():
    request = role_request()
    # same account: either side allows; nothing allows: refused with IAM's reason
    assert evaluate([allow("*")], None, request, MAIN)
    refused = evaluate([], None, request, MAIN)
    assert not refused
    assert denial_message(request, refused) == (
        f"User: arn:aws:sts::{MAIN}:assumed-role/Function/fn is not authorized to perform: "
        f"backup:StartCopyJob on resource: {RECOVERY_POINT} because no identity-based policy allows "
        "the backup:StartCopyJob action"
    )
    names_role = allow("*", principal={"AWS": f"arn:aws:iam::{MAIN}:role/Function"})
    assert evaluate([], [names_role], request, MAIN)
    # a same-account grant to the account only delegates to the identity policy
    assert not evaluate([], [allow("*", principal={"AWS": MAIN})], request, MAIN)
    # explicit deny wins, wherever it is
    deny = {**names_role, "Effect": "Deny"}
    assert evaluate([allow("*")], [deny], request, MAIN).reason == "with an explicit deny in a resource-based policy"
    assert evaluate([allow("*"), {**allow("*"), "Effect": "Deny"}], None, request, MAIN).reason == (
        "with an explicit deny in an identity-based policy"
    )
    # cross-account: both sides
    other = Request(
        "backup:CopyIntoBackupVault",
        f"arn:aws:backup:{EAST}:{BACKUP}:backup-vault:V",
        principal_account=MAIN,
        principal_arn=request.principal_arn,
    )
    vault_allows = allow("*", "backup:CopyIntoBackupVault", principal={"AWS": f"arn:aws:iam::{MAIN}:root"})
    assert not evaluate([], [vault_allows], other, BACKUP)
    assert not evaluate([allow("*", "backup:CopyIntoBackupVault")], [], other, BACKUP).allowed
    assert evaluate([allow("*", "backup:CopyIntoBackupVault")], [vault_allows], other, BACKUP)
    assert evaluate([allow("*", "backup:CopyIntoBackupVault")], [], other, BACKUP).reason == (
        "because no resource-based policy allows the backup:CopyIntoBackupVault action"
    )


def test_a_key_in_its_own_account_needs_its_key_policy_to_allow():
    key = f"arn:aws:kms:{EAST}:{MAIN}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    request = role_request("kms:Decrypt", key)
    delegates = allow("*", "kms:*", principal={"AWS": f"arn:aws:iam::{MAIN}:root"})
    names_role = allow("*", "kms:Decrypt", principal={"AWS": f"arn:aws:iam::{MAIN}:role/Function"})
    other_role = allow("*", "kms:*", principal={"AWS": f"arn:aws:iam::{MAIN}:role/Admin"})
    # delegation to the account: the identity policy must allow too
    assert evaluate([allow("*", "kms:Decrypt")], [delegates], request, MAIN)
    assert evaluate([], [delegates], request, MAIN).reason == (
        "because no identity-based policy allows the kms:Decrypt action"
    )
    # a key policy naming the role is enough on its own
    assert evaluate([], [names_role], request, MAIN)
    # an identity policy alone never grants a key (unlike a queue or a vault in one account)
    refused = evaluate([allow("*", "kms:Decrypt")], [other_role], request, MAIN)
    assert refused.reason == "because no resource-based policy allows the kms:Decrypt action"
    queue = role_request("sqs:SendMessage", f"arn:aws:sqs:{EAST}:{MAIN}:q")
    assert evaluate([allow("*", "sqs:SendMessage")], [other_role], queue, MAIN)


# ---------------------------------------------------------------------------- the template's role


def template_variant(tmp_path: Path, recovery_point_resources: Any) -> Path:
    """The repository's template with the Resource of the function role's recovery-point
    statements replaced (the test does not depend on how the template spells them today)."""
    template = json.loads(cfn_flip.to_json(default_template_path().read_text()))
    statements = template["Resources"]["FunctionRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    changed = 0
    for item in statements:
        statement = item["Fn::If"][1] if isinstance(item, dict) and "Fn::If" in item else item
        actions = statement.get("Action")
        if isinstance(actions, dict) and "Fn::If" in actions:  # [condition, then, else]
            actions = [a for branch in actions["Fn::If"][1:] for a in ([branch] if isinstance(branch, str) else branch)]
        actions = {actions} if isinstance(actions, str) else set(actions or [])
        if actions & RECOVERY_POINT_ACTIONS:
            statement["Resource"] = [{"Fn::Sub": r} for r in recovery_point_resources]
            changed += 1
    assert changed >= 1, "the function role's recovery-point statements were not found"
    path = tmp_path / "variant.json"
    path.write_text(json.dumps(template))
    return path


def function_role_arn(org: Organization, account: str, region: str = EAST) -> str:
    name = org.stack_resources(account, region)["FunctionRole"]["id"]
    return org.client("iam", account, region).get_role(RoleName=name)["Role"]["Arn"]


def set_recovery_point_resource(org: Organization, account: str, resource: str) -> None:
    """Give the deployed role's recovery-point statements `resource`, straight in moto's IAM
    (as if the stack had deployed it: no deploy-time policy check stands in the way)."""
    from moto.iam.models import iam_backends

    role_arn = function_role_arn(org, account)
    role = iam_backends[account]["aws"].get_role(role_arn.rsplit("/", 1)[-1])
    for name, document in list(role.policies.items()):
        parsed = json.loads(document) if isinstance(document, str) else document
        for statement in parsed["Statement"]:
            actions = statement["Action"]
            actions = {actions} if isinstance(actions, str) else set(actions)
            if actions & RECOVERY_POINT_ACTIONS:
                statement["Resource"] = resource
        role.policies[name] = json.dumps(parsed)


def function_errors(org: Organization, account: str) -> list[str]:
    return [
        m["body"]["responsePayload"]["errorMessage"]
        for m in org.error_messages(account, EAST)
        if isinstance(m["body"], dict) and "responsePayload" in m["body"]
    ]


@pytest.fixture(scope="module")
def explicit_org():
    """The repository's template as deployed: its recovery-point statement must admit every
    type the tests copy (dropping its EBS or RDS line fails them)."""
    with Organization(minimum_layout()) as org:
        yield org


def test_an_explicit_resource_list_lets_the_function_copy_and_shorten(explicit_org):
    org = explicit_org
    for kind in ("EFS", "EBS", "RDS"):
        resource = org.create_resource(kind, MAIN, EAST)
        org.start_backup(MAIN, EAST, resource)
    org.run_until_idle()
    assert function_errors(org, MAIN) == [] and function_errors(org, BACKUP) == []
    copies = [j for j in explicit_org.backup_service.copy_jobs() if j.state == "COMPLETED"]
    assert len(copies) == 6  # copy 1 and copy 2 of each
    originals = [p for p in explicit_org.backup_service.recovery_points(account_id=MAIN)]
    assert originals and all(p.lifecycle == {"DeleteAfterDays": 8} for p in originals)


def test_a_wildcard_in_the_service_segment_is_refused_at_run_time_and_the_backup_is_in_the_error_queue(explicit_org):
    org = explicit_org
    set_recovery_point_resource(org, MAIN, f"arn:aws:*:{EAST}:*:*")  # today's template, rendered
    try:
        before = len(explicit_org.backup_service.copy_jobs())
        resource = org.create_resource("EFS", MAIN, EAST)
        org.start_backup(MAIN, EAST, resource)
        org.run_until_idle()
        [point] = [
            p for p in explicit_org.backup_service.recovery_points(account_id=MAIN) if p.resource_arn == resource
        ]
        assert len(explicit_org.backup_service.copy_jobs()) == before  # nothing copied
        assert point.lifecycle == {"DeleteAfterDays": 35}  # nor shortened
        role_name = function_role_arn(org, MAIN).rsplit("/", 1)[1]
        function_name = org.stack_outputs(MAIN, EAST)["FunctionName"]  # Lambda names the session after it
        expected = (
            f"User: arn:aws:sts::{MAIN}:assumed-role/{role_name}/{function_name} is not authorized "
            f"to perform: backup:StartCopyJob on resource: {point.arn} because no identity-based "
            "policy allows the backup:StartCopyJob action"
        )
        assert any("AccessDeniedException" in e and expected in e for e in function_errors(org, MAIN)), function_errors(
            org, MAIN
        )
    finally:
        set_recovery_point_resource(
            org,
            MAIN,
            [
                r.replace("${AWS::Partition}", "aws").replace("${AWS::Region}", EAST).replace("${AWS::AccountId}", MAIN)
                for r in EXPLICIT_RECOVERY_POINTS
            ],
        )


def test_a_destination_vault_narrowed_to_the_copy_role_refuses_copies(explicit_org):
    """AWS doesn't document which principal AWS Backup presents to the destination vault; the
    sandbox presents the source account with only aws:PrincipalOrgID known, so a vault policy
    that names the copy role's ARN admits nothing (docs/AWS-BEHAVIOUR.md §19 item 61)."""
    org = explicit_org
    backup = org.client("backup", BACKUP, EAST)
    vault = org.vault_name
    saved = backup.get_backup_vault_access_policy(BackupVaultName=vault)["Policy"]
    narrowed = json.loads(saved)
    [admit] = [s for s in narrowed["Statement"] if s["Action"] == "backup:CopyIntoBackupVault"]
    admit["Condition"]["ArnLike"] = {"aws:PrincipalArn": "arn:aws:iam::*:role/service-role/AWSBackupDefaultServiceRole"}
    backup.put_backup_vault_access_policy(BackupVaultName=vault, Policy=json.dumps(narrowed))
    try:
        before = {j.job_id for j in org.backup_service.copy_jobs()}
        resource = org.create_resource("EFS", MAIN, EAST)
        org.start_backup(MAIN, EAST, resource)
        org.run_until_idle()
        [copy] = [j for j in org.backup_service.copy_jobs(account_id=MAIN) if j.job_id not in before]
        assert (copy.state, copy.status_message) == ("FAILED", "Access Denied trying to call AWS Backup service")
        # the template's own policy (the organisation, no role ARN) admits the same copy
        backup.put_backup_vault_access_policy(BackupVaultName=vault, Policy=saved)
        resource = org.create_resource("EFS", MAIN, EAST)
        org.start_backup(MAIN, EAST, resource)
        org.run_until_idle()
        [point] = [p for p in org.backup_service.recovery_points(account_id=MAIN) if p.resource_arn == resource]
        assert point.lifecycle == {"DeleteAfterDays": 8}  # copied, then shortened
    finally:
        backup.put_backup_vault_access_policy(BackupVaultName=vault, Policy=saved)


def test_passing_the_copy_role_needs_iam_pass_role_to_backup(explicit_org):
    org = explicit_org
    role_arn = function_role_arn(org, MAIN)
    statements = role_policy_statements(role_arn)
    pass_role = [s for s in statements if s.get("Action") == "iam:PassRole"]
    assert pass_role, "the function role passes the copy role"
    from moto.iam.models import iam_backends

    role = iam_backends[MAIN]["aws"].get_role(role_arn.rsplit("/", 1)[-1])
    saved = copy.deepcopy(dict(role.policies))  # moto may hold a document as a dict: edited below
    try:
        for name, document in copy.deepcopy(saved).items():
            parsed = json.loads(document) if isinstance(document, str) else document
            for statement in parsed["Statement"]:
                if statement.get("Action") == "iam:PassRole":
                    statement["Condition"] = {"StringEquals": {"iam:PassedToService": "ec2.amazonaws.com"}}
            role.policies[name] = json.dumps(parsed)
        resource = org.create_resource("EFS", MAIN, EAST)
        org.start_backup(MAIN, EAST, resource)
        org.run_until_idle()
        assert any(
            f"is not authorized to perform: iam:PassRole on resource: {org.copy_role_arn(MAIN)}" in e
            for e in function_errors(org, MAIN)
        ), function_errors(org, MAIN)
    finally:
        role.policies.clear()
        role.policies.update(saved)


def test_the_operators_own_credentials_are_not_governed(explicit_org):
    # The sandbox's operator sessions stand for account administrators: their role is not in IAM.
    backup = explicit_org.client("backup", MAIN, EAST)
    assert backup.list_copy_jobs()["CopyJobs"] is not None


# ---------------------------------------------------------------------------- request contexts


def test_each_call_carries_the_context_keys_aws_documents_for_it(explicit_org):
    """docs/AWS-BEHAVIOUR.md §11.4: EventBridge acting for a rule carries aws:SourceArn (the rule)
    and aws:SourceAccount; a role session (the forward role, the function's role) carries the
    principal's keys and no aws:SourceArn; every request carries aws:ResourceAccount."""
    org = explicit_org
    seen: list[tuple[str, str | None, dict]] = []

    def listen(request, decision):
        seen.append((request.action, request.service, dict(request.context)))

    org.gate.add_listener(listen)
    try:
        explicit_org.backup_service.deny_access(
            "UpdateRecoveryPointLifecycle", MAIN
        )  # the function fails: on-failure record
        resource = org.create_resource("EFS", MAIN, EAST)
        org.start_backup(MAIN, EAST, resource)
        org.run_until_idle()
    finally:
        explicit_org.backup_service.allow_access("UpdateRecoveryPointLifecycle", MAIN)
        org.gate.remove_listener(listen)

    def contexts(action, service=None):
        return [c for a, s, c in seen if a == action and s == service]

    [invoke, *_] = contexts("lambda:InvokeFunction", "events.amazonaws.com")
    assert invoke["aws:SourceArn"].startswith(f"arn:aws:events:{EAST}:{MAIN}:rule/")
    assert invoke["aws:SourceAccount"] == MAIN and "aws:PrincipalArn" not in invoke
    [forward, *_] = contexts("events:PutEvents")
    assert forward["aws:PrincipalOrgID"] == "o-xxxxxxxxxx" and forward["aws:PrincipalAccount"] == MAIN
    assert ":role/" in forward["aws:PrincipalArn"] and "aws:SourceArn" not in forward
    assert forward["aws:ResourceAccount"] == BACKUP
    [copy, *_] = contexts("backup:StartCopyJob")
    assert copy["aws:PrincipalArn"] == function_role_arn(org, MAIN) and copy["aws:ResourceAccount"] == MAIN
    assert "aws:SourceArn" not in copy
    [pass_role, *_] = contexts("iam:PassRole")
    assert pass_role["iam:PassedToService"] == "backup.amazonaws.com"
    on_failure = [c for c in contexts("sqs:SendMessage") if c.get("aws:PrincipalArn") == function_role_arn(org, MAIN)]
    assert on_failure and "aws:SourceArn" not in on_failure[0] and on_failure[0]["aws:PrincipalOrgID"]


# ---------------------------------------------------------------------------- any governed session


def role_session(org: Organization, statements: list[dict], name: str = "Worker") -> Any:
    """A session of a new role `name` in MAIN whose only policy is `statements`."""
    import boto3

    iam = org.client("iam", MAIN, EAST)
    trust = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": MAIN}, "Action": "sts:AssumeRole"}],
    }
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    iam.put_role_policy(
        RoleName=name, PolicyName="p", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": statements})
    )
    keys = org.credentials.for_role(arn, "worker")
    return boto3.Session(
        aws_access_key_id=keys["AccessKeyId"],
        aws_secret_access_key=keys["SecretAccessKey"],
        aws_session_token=keys["SessionToken"],
        region_name=EAST,
    )


def test_a_role_session_is_held_to_its_policies_and_the_queue_and_key_policies(explicit_org):
    from botocore.exceptions import ClientError

    org = explicit_org
    sqs = org.client("sqs", MAIN, EAST)
    allowed_url = sqs.create_queue(QueueName="allowed")["QueueUrl"]
    other_url = sqs.create_queue(QueueName="other")["QueueUrl"]
    session = role_session(
        org, [{"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": f"arn:aws:sqs:{EAST}:{MAIN}:allowed"}]
    )
    worker = session.client("sqs")
    worker.send_message(QueueUrl=allowed_url, MessageBody="x")
    with pytest.raises(ClientError) as excinfo:
        worker.send_message(QueueUrl=other_url, MessageBody="x")
    assert excinfo.value.response["Error"]["Message"] == (
        f"User: arn:aws:sts::{MAIN}:assumed-role/Worker/worker is not authorized to perform: sqs:SendMessage "
        f"on resource: arn:aws:sqs:{EAST}:{MAIN}:other because no identity-based policy allows the "
        "sqs:SendMessage action"
    )
    # a queue policy naming the role allows it on its own, in the same account
    sqs.set_queue_attributes(
        QueueUrl=other_url,
        Attributes={
            "Policy": json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Action": "sqs:SendMessage",
                            "Principal": {"AWS": f"arn:aws:iam::{MAIN}:role/Worker"},
                            "Resource": f"arn:aws:sqs:{EAST}:{MAIN}:other",
                        }
                    ],
                }
            )
        },
    )
    worker.send_message(QueueUrl=other_url, MessageBody="x")
    # KMS: the default key policy delegates to the account's identity policies
    key = org.client("kms", MAIN, EAST).create_key()["KeyMetadata"]["KeyId"]
    with pytest.raises(ClientError) as excinfo:
        session.client("kms").encrypt(KeyId=key, Plaintext=b"x")
    assert (
        "because no identity-based policy allows the kms:Encrypt action" in excinfo.value.response["Error"]["Message"]
    )
    kms_session = role_session(org, [{"Effect": "Allow", "Action": "kms:Encrypt", "Resource": "*"}], name="KeyUser")
    kms_session.client("kms").encrypt(KeyId=key, Plaintext=b"x")  # delegated, and the identity allows
    # a key policy that does not delegate to the account: the identity policy alone is not enough
    admin_only = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{MAIN}:role/Admin"},
                "Action": "kms:*",
                "Resource": "*",
            }
        ],
    }
    org.client("kms", MAIN, EAST).put_key_policy(KeyId=key, PolicyName="default", Policy=json.dumps(admin_only))
    with pytest.raises(ClientError) as excinfo:
        kms_session.client("kms").encrypt(KeyId=key, Plaintext=b"x")
    assert (
        "because no resource-based policy allows the kms:Encrypt action" in excinfo.value.response["Error"]["Message"]
    )


def set_recovery_point_condition(org: Organization, account: str, condition: dict) -> None:
    """Give the deployed role's recovery-point statements `condition`, straight in moto's IAM."""
    from moto.iam.models import iam_backends

    role = iam_backends[account]["aws"].get_role(function_role_arn(org, account).rsplit("/", 1)[-1])
    for name, document in list(role.policies.items()):
        parsed = json.loads(document) if isinstance(document, str) else document
        for statement in parsed["Statement"]:
            actions = statement["Action"]
            if ({actions} if isinstance(actions, str) else set(actions)) & RECOVERY_POINT_ACTIONS:
                statement["Condition"] = condition
        role.policies[name] = json.dumps(parsed)


def test_an_ebs_recovery_point_carries_no_resource_account_so_only_if_exists_admits_it(explicit_org):
    """docs/AWS-BEHAVIOUR.md §19 item 5: an EBS snapshot's ARN names no account, and the sandbox
    leaves aws:ResourceAccount out of its context. A plain StringEquals on that key refuses the EBS
    copy (EFS's backup ARN names its account and still passes); the template's IfExists admits both."""
    org = explicit_org
    strict = {"StringEquals": {"aws:ResourceAccount": MAIN}}
    set_recovery_point_condition(org, MAIN, strict)
    try:
        before = {j.source_recovery_point_arn for j in explicit_org.backup_service.copy_jobs()}
        ebs, efs = org.create_resource("EBS", MAIN, EAST), org.create_resource("EFS", MAIN, EAST)
        org.start_backup(MAIN, EAST, ebs)
        org.start_backup(MAIN, EAST, efs)
        org.run_until_idle()
        copied = {
            explicit_org.backup_service.find_recovery_point(j.source_recovery_point_arn).resource_arn
            for j in explicit_org.backup_service.copy_jobs()
            if j.source_recovery_point_arn not in before
            and explicit_org.backup_service.find_recovery_point(j.source_recovery_point_arn).account == MAIN
        }
        assert copied == {efs}
        # Before copy 1 of an EBS backup the function reads it (its key): that call is refused first.
        assert any(
            "not authorized to perform: backup:DescribeRecoveryPoint" in e and ":snapshot/" in e
            for e in function_errors(org, MAIN)
        )
    finally:
        set_recovery_point_condition(org, MAIN, {"StringEqualsIfExists": {"aws:ResourceAccount": MAIN}})
    org.error_messages(MAIN, EAST)  # drained: the module's later tests start from an empty queue
