"""Parameters refuse bad values, Rules refuse impossible combinations, each with its message."""

from __future__ import annotations

import pytest
from layouts import BACKUP, MAIN, PARAMETERS

from backup_events_aws import template

MRK = "arn:aws:kms:us-west-2:000011112222:key/mrk-0123456789abcdef0123456789abcdef"

# (parameter, bad value, words its message must contain)
BAD_VALUES = [
    ("OrgId", "o-short", "o-a1b2c3d4e5"),
    ("OrgId", "O-A1B2C3D4E5", "o-a1b2c3d4e5"),
    ("OrgId", "r-a1b2c3d4e5", "o-a1b2c3d4e5"),
    ("BackupAccountId", "99997777555", "12 digits"),
    ("BackupAccountId", "9999777755550", "12 digits"),
    ("BackupAccountId", "9999-7777-5555", "12 digits"),
    ("BackupRegion", "us-west", "us-west-2"),
    ("BackupRegion", "US-WEST-2", "us-west-2"),
    ("BackupRegion", "us-west-2a", "us-west-2"),
    ("BackupRegionAlternate", "useast1", "us-east-1"),
    ("EnableCopy", "yes", None),
    ("EnableShortenRetention", "True", None),
    ("EnableCatchUpSweep", "1", None),
    ("CreateSampleVaults", "no", None),
    ("NewDeleteAfterDays", "0", "1 to 36500"),
    ("NewDeleteAfterDays", "36501", "1 to 36500"),
    ("NewDeleteAfterDays", "7.5", "1 to 36500"),  # a whole number: the function refuses 7.5
    ("CatchUpDays", "0", "1 to 365"),
    ("CatchUpDays", "1.5", "1 to 365"),
    ("BackupsToCover", "manual", None),
    ("VaultName", "x", "2 to 50"),
    ("VaultName", "aws/backup/vault", "2 to 50"),
    ("VaultName", "a" * 51, "2 to 50"),
    ("VaultCustomKmsKey", MRK.replace("mrk-", ""), "multi-region"),
    ("VaultCustomKmsKey", "alias/aws/backup", "multi-region"),
    ("VaultCustomKmsKey", "mrk-0123456789abcdef0123456789abcdef", "multi-region"),
    ("CopyRoleName", "/service-role/AWSBackupDefaultServiceRole", "no leading slash"),
    ("CopyRoleName", "arn:aws:iam::000022224444:role/x", "no leading slash"),
    ("NamePrefix", "1Backup", "a letter"),
    ("NamePrefix", "Backup_Events", "a letter"),
    ("NamePrefix", "B" * 33, "a letter"),
    ("LogLevel", "WARNING", None),
    ("LogLevel", "info", None),
    ("LogRetentionInDays", 2, "CloudWatch Logs"),
    ("CloudWatchLogsKmsKey", "alias/mine", "KMS key"),
    ("SqsKmsKey", "arn:aws:kms:us-east-1:000011112222:alias/mine", "KMS key"),
    ("ErrorQueueRetentionSeconds", 1209601, "14 days"),
    ("ErrorQueueRetentionSeconds", 59, "14 days"),
    ("FunctionMemorySize", 64, "128 to 10240"),
    ("FunctionTimeout", 901, "10 to 900"),
    ("FunctionReservedConcurrency", -1, "0 to 1000"),
    ("FunctionReservedConcurrency", 1001, "0 to 1000"),
    ("Copy1Retention", "365/", "DAYS/COLD"),
    ("Copy1Retention", "forever", "DAYS/COLD"),
    ("Copy2Retention", "-1", "DAYS/COLD"),
    ("BackupVaultRetention", "7", "MIN-MAX"),
    ("BackupVaultRetention", "7..365", "MIN-MAX"),
    ("BackupVaultType", "lag", None),
    ("AllowCopyBack", "yes", None),
]

GOOD_VALUES = [
    ("BackupRegion", "us-gov-west-1"),
    ("BackupRegion", "cn-northwest-1"),
    ("BackupRegion", "ap-southeast-5"),
    ("VaultCustomKmsKey", MRK),
    ("VaultCustomKmsKey", MRK.replace("arn:aws:", "arn:aws-us-gov:")),
    ("CloudWatchLogsKmsKey", "arn:aws:kms:us-east-1:000011112222:key/0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0"),
    ("SqsKmsKey", MRK),
    ("CopyRoleName", "BackupCopier"),
    ("CopyRoleName", "team/backup/BackupCopier"),
    ("NamePrefix", "Backup-Events2"),
    ("LogLevel", "WARN"),
    ("LogRetentionInDays", 3653),
    ("Copy1Retention", "365"),
    ("Copy2Retention", "400/30"),
    ("BackupVaultRetention", "7-3650"),
    ("BackupVaultRetention", "-3650"),
    ("BackupVaultRetention", "30-"),
    ("BackupVaultType", "air-gapped"),
]


def test_defaults_and_the_layout_values_are_valid():
    assert template.parameter_errors(PARAMETERS) == []
    assert template.evaluate_rules(PARAMETERS, MAIN, "us-east-1") == []


def test_required_parameters_have_no_default():
    assert template.parameter_errors({}) == [
        f"{name}: a value is required" for name in ("OrgId", "BackupAccountId", "BackupRegion", "BackupRegionAlternate")
    ]


@pytest.mark.parametrize("name, value, words", BAD_VALUES, ids=[f"{n}={v!s:.20}" for n, v, _ in BAD_VALUES])
def test_bad_values_are_refused_with_their_message(name, value, words):
    errors = template.parameter_errors(dict(PARAMETERS, **{name: value}))
    assert len(errors) == 1 and errors[0].startswith(f"{name}: ")
    spec = template.load()["Parameters"][name]
    if words is not None:
        assert words in errors[0] and words in spec["ConstraintDescription"]
    else:
        assert "AllowedValues" in spec  # the console offers a list; nothing to type wrong
    if spec["Type"] == "Number" and "AllowedValues" in spec:
        return  # cloud-radar checks AllowedValues of String parameters only
    with pytest.raises(ValueError):  # cloud-radar refuses it too
        template.render(MAIN, "us-east-1", dict(PARAMETERS, **{name: value}))


@pytest.mark.parametrize("name, value", GOOD_VALUES)
def test_good_values_are_accepted(name, value):
    assert template.parameter_errors(dict(PARAMETERS, **{name: value})) == []


def test_every_constrained_parameter_says_what_to_fix():
    for name, spec in template.load()["Parameters"].items():
        if "AllowedPattern" in spec or "MinValue" in spec or spec["Type"] == "Number":
            assert spec.get("ConstraintDescription"), name


def test_log_levels_are_the_ones_lambda_accepts():
    assert template.load()["Parameters"]["LogLevel"]["AllowedValues"] == [
        "TRACE",
        "DEBUG",
        "INFO",
        "WARN",
        "ERROR",
        "FATAL",
    ]


# --- Rules ----------------------------------------------------------------------


RULE_CASES = [
    ({"BackupRegionAlternate": "us-west-2"}, "BackupRegionAlternate must differ from BackupRegion"),
    ({"EnableCopy": "false"}, "EnableShortenRetention needs EnableCopy"),
    ({"CreateSampleVaults": "false", "VaultCustomKmsKey": MRK}, "VaultCustomKmsKey is for sample vaults only"),
    ({"VaultName": "Default"}, "VaultName cannot be Default"),
    ({"BackupVaultType": "air-gapped"}, "A sample air-gapped vault needs BackupVaultRetention"),
]


@pytest.mark.parametrize("overrides, message", RULE_CASES, ids=[m.split(":")[0] for _, m in RULE_CASES])
def test_impossible_combinations_are_refused(overrides, message):
    for account, region in [(MAIN, "us-east-1"), (BACKUP, "us-west-2")]:
        failing = template.evaluate_rules(dict(PARAMETERS, **overrides), account, region)
        assert len(failing) == 1 and failing[0].startswith(message)


def test_possible_combinations_pass_the_rules():
    for overrides in [
        {"EnableCopy": "false", "EnableShortenRetention": "false"},  # paused
        {"EnableShortenRetention": "false"},  # copy only
        {"EnableCopy": "false", "EnableShortenRetention": "false", "EnableCatchUpSweep": "true"},
        {"VaultCustomKmsKey": MRK},
        {"CreateSampleVaults": "false"},
        {"BackupVaultType": "air-gapped", "BackupVaultRetention": "7-3650"},
        {"BackupVaultType": "air-gapped", "CreateSampleVaults": "false"},  # your own vaults
    ]:
        assert template.evaluate_rules(dict(PARAMETERS, **overrides), BACKUP, "us-east-1") == [], overrides


def test_several_broken_rules_are_all_reported():
    failing = template.evaluate_rules(
        dict(PARAMETERS, BackupRegionAlternate="us-west-2", EnableCopy="false"), MAIN, "us-east-1"
    )
    assert len(failing) == 2


def test_rules_evaluator_refuses_what_it_cannot_evaluate(tmp_path):
    text = template.TEMPLATE.read_text().replace(
        "- Assert: !Not [!Equals [!Ref BackupRegion, !Ref BackupRegionAlternate]]",
        "- Assert: !Not [!Equals [!Ref BackupRegion, !ValueOf [BackupRegion, Tag]]]",
    )
    path = tmp_path / "t.yaml"
    path.write_text(text)
    with pytest.raises(NotImplementedError):
        template.evaluate_rules(PARAMETERS, MAIN, "us-east-1", path)


# --- One reading of the definitions; region codes ------------------------------------


def test_the_cli_reads_the_definitions_as_a_yaml_parser_does():
    """parameters.definitions() reads the YAML without a YAML library (the CLI has only boto3):
    on the shipped template it must agree with a full YAML parser, property by property."""
    from backup_events_aws import parameters

    read = parameters.definitions(template.TEMPLATE.read_text())
    parsed = {name: parameters._normalised(spec) for name, spec in template.load()["Parameters"].items()}
    assert read == parsed
    assert read["LogRetentionInDays"]["AllowedValues"][-1] == "3653"  # a flow list over two lines
    assert read["OrgId"]["AllowedPattern"] == "^o-[a-z0-9]{10,32}$"


def test_json_templates_are_read_too():
    import json

    from backup_events_aws import parameters

    body = json.dumps(
        {
            "Parameters": {
                "On": {"Type": "String", "AllowedValues": [True, False]},
                "N": {"Type": "Number", "MinValue": 1, "Default": 2},
            }
        }
    )
    assert parameters.definitions(body) == {
        "On": {"Type": "String", "AllowedValues": ["true", "false"]},
        "N": {"Type": "Number", "MinValue": "1", "Default": "2"},
    }


@pytest.mark.parametrize(
    "definition, value, refused",
    [
        ({"Type": "String", "MinLength": "2", "MaxLength": "3"}, "a", True),
        ({"Type": "String", "MinLength": "2", "MaxLength": "3"}, "abcd", True),
        ({"Type": "String", "MinLength": "2", "MaxLength": "3"}, "abc", False),
        ({"Type": "Number", "MaxValue": "5"}, "five", True),
        ({"Type": "Number", "MaxValue": "5"}, "5", False),
        ({"Type": "String", "AllowedValues": ["a", "b"]}, "c", True),
    ],
)
def test_value_error_applies_each_constraint(definition, value, refused):
    from backup_events_aws import parameters

    assert (parameters.value_error(value, definition) is not None) == refused


def botocore_regions():
    import botocore.session

    session = botocore.session.get_session()
    return sorted(
        {
            region
            for partition in session.get_available_partitions()
            for region in session.get_available_regions("cloudformation", partition_name=partition)
        }
    )


@pytest.mark.parametrize("name", ["BackupRegion", "BackupRegionAlternate"])
def test_every_region_botocore_knows_fits_the_region_pattern(name):
    regions = botocore_regions()
    assert len(regions) > 30 and "us-gov-west-1" in regions and "cn-north-1" in regions
    assert [r for r in regions if template.parameter_errors(dict(PARAMETERS, **{name: r}))] == []


@pytest.mark.parametrize(
    "region",
    [
        "us-westt-2",
        "us-wes-2",
        "us-west-12",
        "eu-middle-1",
        "us-gov-2",
        "usa-east-1",
        "us-east",
        "us--1",
        "us-isoz-east-1x",
    ],
)
def test_region_codes_of_no_aws_form_are_refused(region):
    errors = template.parameter_errors(dict(PARAMETERS, BackupRegion=region))
    assert errors == ["BackupRegion: a region code looks like us-west-2"]
