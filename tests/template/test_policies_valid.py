"""Every policy document of every stack instance passes IAM's grammar and the Service
Authorization Reference (sandbox/iam_validation.py), in every switch setting.

cloud-radar renders `!GetAtt X.Arn` as the text "X.Arn"; the ARN CloudFormation would
put there is substituted first, by resource type, so the documents checked are the
ones IAM would see.
"""

from __future__ import annotations

import pytest
from layouts import ALL_INSTANCES, instance_id, rendered

from backup_events_aws.sandbox import cloudformation as sandbox_cloudformation
from backup_events_aws.sandbox import iam_validation

# Switch settings that change which statements and conditions are rendered.
SETTINGS = {
    "default": {},
    "no-shortening": {"EnableShortenRetention": "false"},
    "no-sweep": {"EnableCatchUpSweep": "false"},
    "paused": {"EnableCopy": "false", "EnableShortenRetention": "false", "EnableCatchUpSweep": "false"},
    "own-vault": {"CreateSampleVaults": "false"},
    "keys": {
        "SqsKmsKey": "arn:aws:kms:us-west-2:000011112222:key/mrk-0123456789abcdef0123456789abcdef",
        "VaultCustomKmsKey": "arn:aws:kms:us-west-2:000011112222:key/mrk-0123456789abcdef0123456789abcdef",
    },
}


def _arn_of(logical_id: str, resource: dict, account: str, region: str) -> str:
    """The value of GetAtt <logical_id>.Arn on CloudFormation."""
    name = resource.get("Properties", {}).get("Name") or resource.get("Properties", {}).get("QueueName") or logical_id
    return {
        "AWS::Logs::LogGroup": f"arn:aws:logs:{region}:{account}:log-group:/aws/lambda/BackupEvents:*",
        "AWS::SQS::Queue": f"arn:aws:sqs:{region}:{account}:{name}",
        "AWS::IAM::Role": f"arn:aws:iam::{account}:role/BackupEvents-{logical_id}-ABC123",
        "AWS::Events::Rule": f"arn:aws:events:{region}:{account}:rule/{name}",
        "AWS::Events::EventBus": f"arn:aws:events:{region}:{account}:event-bus/{name}",
        "AWS::Lambda::Function": f"arn:aws:lambda:{region}:{account}:function:BackupEvents",
    }[resource["Type"]]


def _as_cloudformation_would(node, resources, account, region):
    if isinstance(node, dict):
        return {k: _as_cloudformation_would(v, resources, account, region) for k, v in node.items()}
    if isinstance(node, list):  # cloud-radar leaves "" for AWS::NoValue in lists
        return [_as_cloudformation_would(v, resources, account, region) for v in node if v != ""]
    if isinstance(node, str) and node.endswith(".Arn") and node[:-4] in resources:
        return _arn_of(node[:-4], resources[node[:-4]], account, region)
    return node


def rendered_policy_documents(account: str, region: str, **overrides):
    """(logical id, where, kind, document) of every policy document of one instance."""
    resources = rendered(account, region, **overrides)["Resources"]
    for logical_id, resource in resources.items():
        properties = _as_cloudformation_would(resource.get("Properties", {}), resources, account, region)
        for where, kind, document in sandbox_cloudformation.policy_documents(resource["Type"], properties):
            yield logical_id, where, kind, document


@pytest.mark.parametrize("setting", SETTINGS)
@pytest.mark.parametrize("instance", ALL_INSTANCES, ids=instance_id)
def test_every_policy_of_every_instance_passes_iam_validation(instance, setting):
    account, region = instance
    documents = list(rendered_policy_documents(account, region, **SETTINGS[setting]))
    kinds = {kind for _, _, kind, _ in documents}
    assert kinds == {"identity", "trust", "resource"}  # roles, vault / queue / bus policies
    for logical_id, where, kind, document in documents:
        problems = iam_validation.policy_problems(document, kind, "aws")
        assert problems == [], f"{logical_id} {where}: {[str(p) for p in problems]}"


def test_the_check_finds_the_wildcard_service_in_the_old_function_role():
    # The same rendering path, fed yesterday's statement, is refused: the test above can fail.
    account, region = ALL_INSTANCES[0]
    for logical_id, _where, kind, document in rendered_policy_documents(account, region):
        if logical_id == "FunctionRole" and kind == "identity":
            document["Statement"].append(
                {"Effect": "Allow", "Action": "backup:StartCopyJob", "Resource": f"arn:aws:*:{region}:*:*"}
            )
            problems = iam_validation.policy_problems(document, kind, "aws")
            assert [p.message for p in problems] == [
                "Resource vendor must be fully qualified and cannot contain regexes."
            ]
            return
    pytest.fail("no FunctionRole policy rendered")
