"""preflight: pure checks, each failing case alone; the command on a ready and on a
misconfigured sandbox organisation."""

from __future__ import annotations

import json

import pytest
from moto.organizations.models import organizations_backends
from operations_support import run, write_profiles

from backup_events_aws.operations import preflight
from backup_events_aws.operations.preflight import Failure
from backup_events_aws.sandbox import Organization

EAST, WEST2 = "us-east-1", "us-west-2"
MAIN, BACKUP, MANAGEMENT = "000022224444", "999977775555", "111111111111"
ORG = "o-xxxxxxxxxx"
ORG_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": "*",
            "Action": "backup:CopyIntoBackupVault",
            "Resource": "*",
            "Condition": {"StringEquals": {"aws:PrincipalOrgID": ORG}},
        }
    ],
}
TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "backup.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}


# --------------------------------------------------------------------------- pure checks


def test_trusted_access():
    ok = {
        "organizations.list_aws_service_access_for_organization": {
            "EnabledServicePrincipals": [{"ServicePrincipal": "backup.amazonaws.com"}]
        }
    }
    assert preflight.check_trusted_access(ok).passed
    off = preflight.check_trusted_access(
        {
            "organizations.list_aws_service_access_for_organization": {
                "EnabledServicePrincipals": [{"ServicePrincipal": "config.amazonaws.com"}]
            }
        }
    )
    assert not off.passed and "enable-aws-service-access --service-principal backup.amazonaws.com" in off.fix
    denied = preflight.check_trusted_access(
        {
            "organizations.list_aws_service_access_for_organization": Failure(
                "AccessDeniedException", "not the management account"
            )
        }
    )
    assert not denied.passed and "--management-profile" in denied.fix


def test_scps():
    root = {"Id": "r-ab12", "PolicyTypes": [{"Type": "SERVICE_CONTROL_POLICY", "Status": "ENABLED"}]}
    assert preflight.check_scps_enabled({"organizations.list_roots": {"Roots": [root]}}).passed
    off = preflight.check_scps_enabled(
        {
            "organizations.list_roots": {
                "Roots": [dict(root, PolicyTypes=[{"Type": "SERVICE_CONTROL_POLICY", "Status": "PENDING_DISABLE"}])]
            }
        }
    )
    assert not off.passed and "enable-policy-type --root-id r-ab12" in off.fix


def test_cross_account_backup():
    key = "backup.describe_global_settings"
    assert preflight.check_cross_account_backup(
        {key: {"GlobalSettings": {"isCrossAccountBackupEnabled": "true"}}}
    ).passed
    off = preflight.check_cross_account_backup({key: {"GlobalSettings": {"isCrossAccountBackupEnabled": "false"}}})
    assert not off.passed and "isCrossAccountBackupEnabled=true" in off.fix
    assert not preflight.check_cross_account_backup({key: {"GlobalSettings": {}}}).passed


def test_opt_in():
    key = "backup.describe_region_settings"
    settings = {"ResourceTypeOptInPreference": {"EFS": True, "EBS": False}}
    assert preflight.check_opt_in({key: settings}, ["EFS"], EAST).passed
    off = preflight.check_opt_in({key: settings}, ["EFS", "EBS", "RDS"], EAST)
    assert not off.passed and off.detail.endswith("EBS, RDS") and "EBS=true RDS=true" in off.fix


def test_lambda_concurrency():
    key = "lambda.get_account_settings"

    def check(quota, unreserved=None, reservation=5):
        limit = {
            "ConcurrentExecutions": quota,
            "UnreservedConcurrentExecutions": quota if unreserved is None else unreserved,
        }
        return preflight.check_lambda_concurrency({key: {"AccountLimit": limit}}, EAST, reservation)

    assert check(1000).passed
    low = check(10)  # a new account: no reservation fits (the minimum unreserved is the whole quota)
    assert not low.passed and "below Lambda's minimum of 10" in low.detail and "L-B99A9384" in low.fix
    # Deploying works before the increase is granted, with nothing reserved.
    assert "--parameter FunctionReservedConcurrency=0" in low.fix
    assert check(10, reservation=0).passed
    assert not check(104).passed and check(105).passed  # 100 must stay unreserved
    assert not check(1000, unreserved=104).passed  # other functions' reservations count


def test_organization():
    key = "organizations.describe_organization"
    member = {"Organization": {"Id": ORG, "MasterAccountId": MANAGEMENT}}
    ok = preflight.check_organization({key: member}, ORG)
    assert ok.passed and MANAGEMENT in ok.detail
    other = preflight.check_organization({key: member}, "o-yyyyyyyyyy")
    assert not other.passed and f"is in {ORG}" in other.detail and f"--org-id {ORG}" in other.fix
    alone = preflight.check_organization({key: Failure("AWSOrganizationsNotInUseException", "no org")}, ORG)
    assert (
        not alone.passed and "not in any organization" in alone.detail and "invite-account-to-organization" in alone.fix
    )
    denied = preflight.check_organization({key: Failure("AccessDeniedException", "no")}, ORG)
    assert not denied.passed and "organizations:DescribeOrganization" in denied.fix


def test_copy_role():
    name = "service-role/AWSBackupDefaultServiceRole"
    role = {"Role": {"Arn": "arn:aws:iam::1:role/x", "AssumeRolePolicyDocument": TRUST}}
    assert preflight.check_copy_role({"iam.get_role": role}, name).passed
    as_text = {"Role": dict(role["Role"], AssumeRolePolicyDocument=json.dumps(TRUST))}
    assert preflight.check_copy_role({"iam.get_role": as_text}, name).passed
    other = json.loads(json.dumps(TRUST).replace("backup.amazonaws", "lambda.amazonaws"))
    wrong = preflight.check_copy_role(
        {"iam.get_role": {"Role": dict(role["Role"], AssumeRolePolicyDocument=other)}}, name
    )
    assert not wrong.passed and "Principal {Service: backup.amazonaws.com}" in wrong.fix
    missing = preflight.check_copy_role({"iam.get_role": Failure("NoSuchEntity", "not found")}, name)
    assert not missing.passed and "does not exist" in missing.detail and "create it" in missing.fix


def test_vault_access_policy():
    ok = {
        "backup.describe_backup_vault": {"BackupVaultArn": "arn"},
        "backup.get_backup_vault_access_policy": {"Policy": json.dumps(ORG_POLICY)},
    }
    assert preflight.check_vault(ok, "MyVault", ORG, True).passed
    other_org = dict(
        ok, **{"backup.get_backup_vault_access_policy": {"Policy": json.dumps(ORG_POLICY).replace(ORG, "o-yyyyyyyyyy")}}
    )
    result = preflight.check_vault(other_org, "MyVault", ORG, True)
    assert not result.passed and f"aws:PrincipalOrgID {ORG}" in result.fix
    no_policy = dict(ok, **{"backup.get_backup_vault_access_policy": Failure("ResourceNotFoundException", "none")})
    assert not preflight.check_vault(no_policy, "MyVault", ORG, True).passed
    # Resource accounts need the vault, not the policy.
    assert preflight.check_vault(no_policy, "MyVault", ORG, False).passed
    missing = {"backup.describe_backup_vault": Failure("ResourceNotFoundException", "no vault")}
    result = preflight.check_vault(missing, "MyVault", ORG, False)
    assert not result.passed and "create-backup-vault --backup-vault-name MyVault" in result.fix
    assert not preflight.check_vault(ok, "Default", ORG, True).passed


@pytest.mark.parametrize(
    "policy, admitted",
    [
        (ORG_POLICY, True),
        ({"Statement": [dict(ORG_POLICY["Statement"][0], Principal={"AWS": "*"})]}, True),
        (
            {
                "Statement": [
                    dict(
                        ORG_POLICY["Statement"][0],
                        Condition={"ForAnyValue:StringLike": {"aws:PrincipalOrgPaths": [f"{ORG}/r-ab12/*"]}},
                    )
                ]
            },
            True,
        ),
        ({"Statement": [dict(ORG_POLICY["Statement"][0], Effect="Deny")]}, False),
        ({"Statement": [dict(ORG_POLICY["Statement"][0], Action="backup:CopyFromBackupVault")]}, False),
        ({"Statement": [dict(ORG_POLICY["Statement"][0], Principal={"AWS": "arn:aws:iam::1:root"})]}, False),
    ],
)
def test_admits_org_copies(policy, admitted):
    assert preflight.admits_org_copies(policy, ORG) is admitted


def test_kms_key():
    key = "arn:aws:kms:us-east-1:999977775555:key/mrk-0123456789abcdef0123456789abcdef"
    good = {"KeyMetadata": {"Arn": key, "MultiRegion": True, "KeyState": "Enabled"}}
    assert preflight.check_kms_key({"kms.describe_key": good}, key).passed
    single = preflight.check_kms_key(
        {"kms.describe_key": {"KeyMetadata": dict(good["KeyMetadata"], MultiRegion=False)}}, key
    )
    assert not single.passed and "--multi-region" in single.fix and "enable" not in single.fix
    disabled = preflight.check_kms_key(
        {"kms.describe_key": {"KeyMetadata": dict(good["KeyMetadata"], KeyState="Disabled")}}, key
    )
    assert not disabled.passed and "enable-key" in disabled.fix and "multi-region" not in disabled.detail
    gone = preflight.check_kms_key({"kms.describe_key": Failure("NotFoundException", "no")}, key)
    assert not gone.passed and "replicate-key" in gone.fix
    assert preflight.key_in_region(key, WEST2).startswith("arn:aws:kms:us-west-2:999977775555:key/mrk-")


def test_regions_differ():
    assert preflight.check_regions_differ(WEST2, EAST).passed
    same = preflight.check_regions_differ(WEST2, WEST2)
    assert not same.passed and "--alternate-region" in same.fix


# --------------------------------------------------------------------------- the command


class Standin:
    """A real (moto) client, with the calls moto lacks answered from `canned`."""

    def __init__(self, client, canned):
        self.client, self.canned = client, canned

    def __getattr__(self, name):
        if name in self.canned:
            answer = self.canned[name]
            if isinstance(answer, Exception):

                def fail(**_):
                    raise answer

                return fail
            return lambda **_: answer
        return getattr(self.client, name)


def canned_answers():
    """Per account: what moto cannot answer (backup global/region settings, Lambda account settings)."""
    ready = {
        "describe_global_settings": {"GlobalSettings": {"isCrossAccountBackupEnabled": "true"}},
        "describe_region_settings": {"ResourceTypeOptInPreference": {"EFS": True, "EBS": True}},
        "get_account_settings": {"AccountLimit": {"ConcurrentExecutions": 1000}},
    }
    return {(account, region): dict(ready) for account in (MAIN, BACKUP, MANAGEMENT) for region in (EAST, WEST2)}


@pytest.fixture
def ready(tmp_path, monkeypatch):
    """A ready organisation: trusted access, SCPs, copy roles, BYO vaults admitting the org; its
    management account is a third account, set up here (not the sandbox's own organisation)."""
    org = Organization.minimum().start(deploy=False, organization=False)
    try:
        write_profiles(org, tmp_path, monkeypatch, {"main": MAIN, "backup": BACKUP, "management": MANAGEMENT})
        organizations = org.client("organizations", MANAGEMENT, EAST)
        organizations.create_organization(FeatureSet="ALL")
        # moto draws a random organization ID and knows no member accounts: make it ORG, with MAIN
        # and BACKUP as members (DescribeOrganization answers in member accounts).
        monkeypatch.setattr(organizations_backends[MANAGEMENT]["aws"].org, "id", ORG)
        for account in (MAIN, BACKUP):
            monkeypatch.setitem(organizations_backends.master_accounts, account, (MANAGEMENT, "aws"))
        organizations.enable_aws_service_access(ServicePrincipal="backup.amazonaws.com")
        root = organizations.list_roots()["Roots"][0]["Id"]
        organizations.enable_policy_type(RootId=root, PolicyType="SERVICE_CONTROL_POLICY")
        for account in (MAIN, BACKUP):
            for region in (EAST, WEST2):
                org.client("backup", account, region).create_backup_vault(BackupVaultName="MyVault")
        for region in (EAST, WEST2):
            org.client("backup", BACKUP, region).put_backup_vault_access_policy(
                BackupVaultName="MyVault", Policy=json.dumps(ORG_POLICY)
            )
        answers = canned_answers()

        def make_client(aws, service, region):
            client = aws.client(service, region_name=region)
            account = aws.client("sts").get_caller_identity()["Account"]
            return Standin(client, answers[(account, region)] if service in ("backup", "lambda") else {})

        monkeypatch.setattr(preflight, "make_client", make_client)
        org.answers = answers
        org.root = root
        yield org
    finally:
        org.stop()


ARGS = [
    "preflight",
    "--profile",
    "main",
    "--profile",
    "backup",
    "--region",
    EAST,
    "--region",
    WEST2,
    "--management-profile",
    "management",
    "--org-id",
    ORG,
    "--backup-account-id",
    BACKUP,
    "--backup-region",
    WEST2,
    "--alternate-region",
    EAST,
    "--vault-name",
    "MyVault",
]


def fail_lines(out):
    lines = out.splitlines()
    return [(line.strip(), lines[i + 1].strip()) for i, line in enumerate(lines) if line.strip().startswith("FAIL")]


def test_ready_organisation_passes_every_check(ready, capsys):
    code, out, err = run(capsys, *ARGS)
    assert (code, err) == (0, ""), out
    assert fail_lines(out) == [] and "All checks passed" in out
    # 1 layout + 2 organization + per account: 3 account-wide + 3 per region x 2 regions, x 2 accounts
    assert out.count("PASS") == 1 + 2 + 2 * (3 + 3 * 2)
    assert out.count(f"PASS  Account is in organization {ORG}") == 2
    assert f"Account {BACKUP} (profile backup), {WEST2}" in out


def delete_copy_role(iam):
    for name in iam.list_role_policies(RoleName="AWSBackupDefaultServiceRole")["PolicyNames"]:
        iam.delete_role_policy(RoleName="AWSBackupDefaultServiceRole", PolicyName=name)
    iam.delete_role(RoleName="AWSBackupDefaultServiceRole")


def _answer(name, response, region=WEST2):
    def apply(org):
        org.answers[(BACKUP, region)][name] = response

    return apply


MISCONFIGURED = {
    "not in the organization": (
        lambda org: organizations_backends.master_accounts.pop(BACKUP),
        "Account is in organization",
        "invite-account-to-organization",
    ),
    "trusted access": (
        lambda org: org.client("organizations", MANAGEMENT, EAST).disable_aws_service_access(
            ServicePrincipal="backup.amazonaws.com"
        ),
        "Organizations trusted access",
        "enable-aws-service-access",
    ),
    "scps": (
        lambda org: org.client("organizations", MANAGEMENT, EAST).disable_policy_type(
            RootId=org.root, PolicyType="SERVICE_CONTROL_POLICY"
        ),
        "Service control policies",
        "enable-policy-type",
    ),
    "cross-account backup": (
        _answer("describe_global_settings", {"GlobalSettings": {"isCrossAccountBackupEnabled": "false"}}, EAST),
        "Cross-account backup",
        "isCrossAccountBackupEnabled=true",
    ),
    "opt-in": (
        _answer("describe_region_settings", {"ResourceTypeOptInPreference": {"EFS": False}}),
        "service opt-in",
        "update-region-settings",
    ),
    "concurrency": (
        _answer("get_account_settings", {"AccountLimit": {"ConcurrentExecutions": 10}}),
        "Lambda concurrency leaves room",
        "L-B99A9384",
    ),
    "copy role missing": (lambda org: delete_copy_role(org.client("iam", BACKUP, EAST)), "Copy role", "create it"),
    "copy role trust": (
        lambda org: org.client("iam", BACKUP, EAST).update_assume_role_policy(
            RoleName="AWSBackupDefaultServiceRole", PolicyDocument=json.dumps(TRUST).replace("backup.", "lambda.")
        ),
        "Copy role",
        "sts:AssumeRole",
    ),
    "vault missing": (
        lambda org: org.client("backup", MAIN, WEST2).delete_backup_vault(BackupVaultName="MyVault"),
        "Vault MyVault exists",
        "create-backup-vault",
    ),
    "vault policy": (
        lambda org: org.client("backup", BACKUP, WEST2).put_backup_vault_access_policy(
            BackupVaultName="MyVault", Policy=json.dumps(ORG_POLICY).replace(ORG, "o-yyyyyyyyyy")
        ),
        "admits the organization's copies",
        "put-backup-vault-access-policy",
    ),
}


@pytest.mark.parametrize("case", sorted(MISCONFIGURED))
def test_each_misconfiguration_fails_alone_with_its_fix(ready, capsys, case):
    breaks, name, fix = MISCONFIGURED[case]
    breaks(ready)
    code, out, err = run(capsys, *ARGS)
    assert code == 1 and "1 check(s) failed" in out, out
    [(line, fix_line)] = fail_lines(out)
    assert name in line and fix_line.startswith("fix:") and fix in fix_line


def test_org_id_of_another_organization_fails_in_every_account(ready, capsys):
    args = list(ARGS)
    args[args.index("--org-id") + 1] = "o-yyyyyyyyyy"
    code, out, _ = run(capsys, *args)
    failed = [(line, fix) for line, fix in fail_lines(out) if "Account is in organization" in line]
    assert code == 1 and len(failed) == 2, out
    assert all(f"is in {ORG}" in line and f"--org-id {ORG}" in fix for line, fix in failed)


def test_vault_name_needs_the_backup_account_id(ready, capsys):
    args = list(ARGS)
    del args[args.index("--backup-account-id") : args.index("--backup-account-id") + 2]
    code, out, err = run(capsys, *args)
    lines = err.splitlines()
    assert code == 1 and len(lines) == 2 and out == "", err
    assert "--vault-name needs --backup-account-id" in lines[0] and "pass --backup-account-id" in lines[1]


def test_same_backup_and_alternate_region_fails(ready, capsys):
    args = list(ARGS)
    args[args.index("--alternate-region") + 1] = WEST2
    code, out, _ = run(capsys, *args)
    [(line, fix_line)] = fail_lines(out)
    assert code == 1 and "Backup and alternate regions differ" in line


def test_kms_key_multi_region_and_enabled(ready, capsys, monkeypatch):
    # AWS's multi-region key IDs are mrk- and 32 hex digits (the template's VaultCustomKmsKey pattern,
    # which preflight applies to --kms-key); moto's are mrk- and a dashed UUID.
    import uuid

    import moto.kms.models

    monkeypatch.setattr(
        moto.kms.models,
        "generate_key_id",
        lambda multi_region=False: ("mrk-" + uuid.uuid4().hex) if multi_region else str(uuid.uuid4()),
    )
    kms = ready.client("kms", BACKUP, EAST)
    key = kms.create_key(MultiRegion=True)["KeyMetadata"]
    # moto's API accepts only a dashed UUID as a bare key ID: set the key up through its backend.
    moto.kms.models.kms_backends[BACKUP][EAST].replicate_key(key["KeyId"], WEST2)
    args = [
        "preflight",
        "--profile",
        "backup",
        "--region",
        EAST,
        "--region",
        WEST2,
        "--management-profile",
        "management",
        "--org-id",
        ORG,
        "--backup-region",
        WEST2,
        "--alternate-region",
        EAST,
        "--kms-key",
        key["Arn"],
    ]
    code, out, _ = run(capsys, *args)
    assert code == 0 and out.count("PASS  KMS key is multi-region and enabled") == 2, out
    moto.kms.models.kms_backends[BACKUP][WEST2].disable_key(key["KeyId"])
    code, out, _ = run(capsys, *args)
    [(line, fix_line)] = fail_lines(out)
    assert code == 1 and "state Disabled" in line and "enable-key" in fix_line
    single = kms.create_key()["KeyMetadata"]["Arn"]
    code, out, err = run(capsys, *args[:-1], single)  # VaultCustomKmsKey's pattern refuses it before any call
    assert code == 2 and out == "" and "multi-region key's ARN" in err


# --------------------------------------------------------------------------- KMS key policies (issue 13)

ROLE = "service-role/AWSBackupDefaultServiceRole"
KEY = f"arn:aws:kms:{EAST}:{BACKUP}:key/mrk-0123456789abcdef0123456789abcdef"


def key_policy(*statements):
    return {
        "kms.get_key_policy " + KEY: {"Policy": json.dumps({"Version": "2012-10-17", "Statement": list(statements)})}
    }


ROOT_ONLY = {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{BACKUP}:root"}, "Action": "kms:*", "Resource": "*"}
ORG_USE = {
    "Effect": "Allow",
    "Principal": "*",
    "Action": ["kms:Decrypt", "kms:GenerateDataKey*", "kms:CreateGrant", "kms:DescribeKey"],
    "Resource": "*",
    "Condition": {"StringEquals": {"aws:PrincipalOrgID": ORG}},
}


def test_custom_key_must_admit_every_copy_role_and_the_backup_account():
    needs = preflight.key_needs("custom", BACKUP, [MAIN, BACKUP], BACKUP, ROLE)
    assert [who for who, _, _ in needs] == [
        f"the copy role of {MAIN}",
        f"the copy role of {BACKUP}",
        f"the backup account {BACKUP}",
    ]
    # The default policy (its own account's root) leaves out the resource account's copy role.
    result = preflight.check_key_policy(key_policy(ROOT_ONLY), "VaultCustomKmsKey", KEY, needs, ORG)
    assert not result.passed and result.detail == f"no statement admits the copy role of {MAIN}"
    assert result.fix == (
        f"add to {KEY}'s key policy: Effect Allow, Principal {{AWS: arn:aws:iam::{MAIN}:role/"
        f"{ROLE}}}, Action [kms:Decrypt, kms:GenerateDataKey, kms:CreateGrant], Resource * "
        f"(the copy role of {MAIN})"
    )
    assert preflight.check_key_policy(key_policy(ROOT_ONLY, ORG_USE), "VaultCustomKmsKey", KEY, needs, ORG).passed
    # An organization statement for another organization admits no one; a Deny wins over an Allow.
    other_org = dict(ORG_USE, Condition={"StringEquals": {"aws:PrincipalOrgID": "o-yyyyyyyyyy"}})
    assert not preflight.check_key_policy(key_policy(ROOT_ONLY, other_org), "k", KEY, needs, ORG).passed
    deny = {"Effect": "Deny", "Principal": {"AWS": MAIN}, "Action": "kms:CreateGrant", "Resource": "*"}
    assert not preflight.check_key_policy(key_policy(ROOT_ONLY, ORG_USE, deny), "k", KEY, needs, ORG).passed


def test_a_resource_accounts_vault_key_must_be_shared_with_the_backup_account():
    needs = preflight.key_needs("watched", MAIN, [MAIN, BACKUP], BACKUP, ROLE)
    own_root = dict(ROOT_ONLY, Principal={"AWS": f"arn:aws:iam::{MAIN}:root"})
    result = preflight.check_key_policy(key_policy(own_root), "The vault's", KEY, needs, ORG)
    assert not result.passed and result.detail == f"no statement admits the backup account {BACKUP}"
    assert (
        f"Principal {{AWS: arn:aws:iam::{BACKUP}:root}}, Action [kms:Decrypt, kms:DescribeKey, kms:CreateGrant]"
        in result.fix
    )
    share = {
        "Effect": "Allow",
        "Principal": {"AWS": [f"arn:aws:iam::{BACKUP}:root"]},
        "Action": ["kms:Decrypt", "kms:DescribeKey", "kms:CreateGrant", "kms:ReEncrypt*"],
        "Resource": "*",
    }
    assert preflight.check_key_policy(key_policy(own_root, share), "The vault's", KEY, needs, ORG).passed
    # The backup account's own vault key: only its copy role.
    assert [who for who, _, _ in preflight.key_needs("backup", BACKUP, [MAIN, BACKUP], BACKUP, ROLE)] == [
        f"the copy role of {BACKUP}"
    ]


def test_preflight_names_the_missing_key_statement(ready, capsys, monkeypatch):
    import uuid

    import moto.kms.models

    # AWS's multi-region key IDs, as in test_kms_key_multi_region_and_enabled.
    monkeypatch.setattr(
        moto.kms.models,
        "generate_key_id",
        lambda multi_region=False: ("mrk-" + uuid.uuid4().hex) if multi_region else str(uuid.uuid4()),
    )
    key = ready.client("kms", BACKUP, EAST).create_key(MultiRegion=True)["KeyMetadata"]
    args = [
        "preflight",
        "--profile",
        "main",
        "--profile",
        "backup",
        "--region",
        EAST,
        "--management-profile",
        "management",
        "--org-id",
        ORG,
        "--backup-account-id",
        BACKUP,
        "--backup-region",
        WEST2,
        "--alternate-region",
        EAST,
        "--kms-key",
        key["Arn"],
    ]
    code, out, _ = run(capsys, *args)
    # Checked where the key lives (only its account may read its policy), for every profile's copy role.
    [(line, fix_line)] = [(failed, fix) for failed, fix in fail_lines(out) if "VaultCustomKmsKey key admits" in failed]
    assert code == 1 and f"copy role of {MAIN}" in line
    assert f"Principal {{AWS: arn:aws:iam::{MAIN}:role/{ROLE}}}" in fix_line
    policy = {"Version": "2012-10-17", "Statement": [dict(ROOT_ONLY), dict(ORG_USE)]}
    moto.kms.models.kms_backends[BACKUP][EAST].put_key_policy(key["KeyId"], json.dumps(policy))
    code, out, _ = run(capsys, *args)
    assert "PASS  VaultCustomKmsKey key admits the copies" in out, out
    assert not [failed for failed, _ in fail_lines(out) if "admits" in failed]


def test_backup_vault_limits_must_match_the_parameter(ready, capsys):
    code, out, _ = run(capsys, *ARGS, "--backup-vault-retention", "none")
    assert code == 0 and out.count("PASS  Vault MyVault's retention limits match") == 2, out
    ready.client("backup", BACKUP, WEST2).put_backup_vault_lock_configuration(
        BackupVaultName="MyVault", MinRetentionDays=60, MaxRetentionDays=400
    )
    code, out, _ = run(capsys, *ARGS, "--backup-vault-retention", "none")
    [(line, fix_line)] = fail_lines(out)
    assert code == 1 and "the vault's are 60-400" in line and "BackupVaultRetention=60-400" in fix_line
    code, out, _ = run(capsys, *ARGS, "--backup-vault-retention", "60-400")
    assert out.count("FAIL") == 1 and "the vault's are none" in out  # us-east-1 has no lock


# --------------------------------------------------------------------------- SqsKmsKey, CloudWatchLogsKmsKey

EVENTS_USE = {
    "Effect": "Allow",
    "Principal": {"Service": "events.amazonaws.com"},
    "Action": ["kms:GenerateDataKey", "kms:Decrypt"],
    "Resource": "*",
}


def logs_use(service):
    return {
        "Effect": "Allow",
        "Principal": {"Service": service},
        "Action": ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
        "Resource": "*",
    }


def test_a_service_key_check_wants_the_service_allowed_every_action():
    """docs/AWS-BEHAVIOUR.md §19 items 70, 72: only the key policy can let a service use a key."""
    events = preflight.EVENTS_SERVICE
    assert not preflight.check_service_key_policy(
        key_policy(ROOT_ONLY), "SqsKmsKey", KEY, events, preflight.QUEUE_KEY_USE
    ).passed  # root only delegates
    half = dict(EVENTS_USE, Action="kms:GenerateDataKey")
    refused = preflight.check_service_key_policy(
        key_policy(ROOT_ONLY, half), "SqsKmsKey", KEY, events, preflight.QUEUE_KEY_USE
    )
    assert not refused.passed and "Principal {Service: events.amazonaws.com}" in refused.fix
    assert preflight.check_service_key_policy(
        key_policy(ROOT_ONLY, EVENTS_USE), "SqsKmsKey", KEY, events, preflight.QUEUE_KEY_USE
    ).passed
    denied = dict(EVENTS_USE, Effect="Deny", Action="kms:Decrypt")
    assert not preflight.check_service_key_policy(
        key_policy(EVENTS_USE, denied), "SqsKmsKey", KEY, events, preflight.QUEUE_KEY_USE
    ).passed
    logs = "logs.us-east-1.amazonaws.com"
    assert preflight.check_service_key_policy(
        key_policy(logs_use(logs)), "CloudWatchLogsKmsKey", KEY, logs, preflight.LOGS_KEY_USE
    ).passed
    # The principal is regional: logs.amazonaws.com is not it.
    assert not preflight.check_service_key_policy(
        key_policy(logs_use("logs.amazonaws.com")), "CloudWatchLogsKmsKey", KEY, logs, preflight.LOGS_KEY_USE
    ).passed


def test_preflight_checks_the_queue_and_log_keys_in_their_account(ready, capsys):
    kms = ready.client("kms", BACKUP, EAST)
    root_only = json.dumps({"Version": "2012-10-17", "Statement": [ROOT_ONLY]})
    key = kms.create_key(MultiRegion=True, Policy=root_only)["KeyMetadata"]
    kms.replicate_key(KeyId=key["KeyId"], ReplicaRegion=WEST2)
    args = [*ARGS, "--sqs-kms-key", key["Arn"], "--logs-kms-key", key["Arn"]]
    code, out, _ = run(capsys, *args)
    failed = [(line, fix) for line, fix in fail_lines(out) if "KmsKey key admits" in line]
    assert code == 1 and [line.split(":")[0] for line, _ in failed] == [
        "FAIL  SqsKmsKey key admits events.amazonaws.com",
        "FAIL  SqsKmsKey key admits the other accounts' function roles",
        f"FAIL  CloudWatchLogsKmsKey key admits logs.{EAST}.amazonaws.com",
        "FAIL  SqsKmsKey key admits events.amazonaws.com",
        "FAIL  SqsKmsKey key admits the other accounts' function roles",
        f"FAIL  CloudWatchLogsKmsKey key admits logs.{WEST2}.amazonaws.com",
    ], out
    assert f"Principal {{AWS: arn:aws:iam::{MAIN}:role/BackupEvents-Function-{EAST}}}" in failed[1][1]
    functions = {
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{MAIN}:root"},
        "Action": ["kms:GenerateDataKey", "kms:Decrypt"],
        "Resource": "*",
    }
    for region in (EAST, WEST2):
        statements = [ROOT_ONLY, EVENTS_USE, functions, logs_use(f"logs.{region}.amazonaws.com")]
        ready.client("kms", BACKUP, region).put_key_policy(
            KeyId=key["KeyId"],
            PolicyName="default",
            Policy=json.dumps({"Version": "2012-10-17", "Statement": statements}),
        )
    code, out, _ = run(capsys, *args)
    assert code == 0 and out.count("PASS  SqsKmsKey key admits events.amazonaws.com") == 2, out
    assert "PASS  CloudWatchLogsKmsKey key admits logs.us-west-2.amazonaws.com" in out
