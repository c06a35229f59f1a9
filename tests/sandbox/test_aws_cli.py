"""The README's "Use it like AWS": the real AWS CLI (pip awscli, v1) and backup-events, as separate
processes, against `backup-events sandbox serve`, through the quick start, preflight, a failure,
redrive and reconcile."""

from __future__ import annotations

import argparse
import datetime
import json
import os
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from backup_events_aws.sandbox import backup as sandbox_backup
from backup_events_aws.sandbox import serve

# One server for the module: on pytest-xdist workers (make test), its tests run on the same one.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("test_aws_cli")]

BIN = Path(sys.executable).parent
VAULT = "BackupEvents-Sample"
MAIN_PROFILE, BACKUP_PROFILE = "sandbox-main", "sandbox-backup"
SPEED = 600.0  # a backup job (6 simulated minutes) in 0.6 s, a copy in 1 s


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    stop, ready = threading.Event(), queue.Queue()
    arguments = argparse.Namespace(host="127.0.0.1", port=serve.free_port(), speed=SPEED, layout="minimum")
    thread = threading.Thread(
        target=serve.run, args=(arguments,), kwargs={"wait": stop.wait, "ready": ready.put}, daemon=True
    )
    thread.start()
    try:
        yield ready.get(timeout=180)
    finally:
        stop.set()
        thread.join(timeout=60)


def environment(server) -> dict[str, str]:
    """A shell with only the printed AWS_CONFIG_FILE: no credentials of this test process."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    return {
        **clean,
        "AWS_CONFIG_FILE": str(server.config_file),
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "PATH": f"{BIN}{os.pathsep}{clean.get('PATH', '')}",
    }


def run(server, *command: str, check: bool = True) -> subprocess.CompletedProcess:
    done = subprocess.run(
        [str(BIN / command[0]), *command[1:]], env=environment(server), capture_output=True, text=True, timeout=120
    )
    if check and done.returncode != 0:
        raise AssertionError(f"{' '.join(command)} -> {done.returncode}\n{done.stdout}\n{done.stderr}")
    return done


def aws(server, *arguments: str, profile: str = MAIN_PROFILE, region: str = "us-east-1") -> object:
    done = run(server, "aws", "--profile", profile, "--region", region, "--output", "json", *arguments)
    return json.loads(done.stdout) if done.stdout.strip() else None


def eventually(check, seconds: float = 60.0):
    """Wait, reading the sandbox's state in this process (cheap), for what the CLI then shows."""
    deadline = time.monotonic() + seconds
    while True:
        with sandbox_backup.installed_service().lock:  # serve's organisation's
            value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.2)


def points_of(org, resource_arn: str, account: str | None = None, region: str | None = None):
    return [p for p in org.recovery_points(account, region) if p["ResourceArn"] == resource_arn]


def copy_states(org, resource_arn: str) -> list[str]:
    return [j.state for j in org.backup_service.copy_jobs() if j.resource_arn == resource_arn]


def test_serve_prints_what_each_client_needs(server):
    text = "\n".join(server.describe())
    assert f"export AWS_CONFIG_FILE={server.config_file}" in text
    assert f"--profile {MAIN_PROFILE}" in text and f"--profile {BACKUP_PROFILE}" in text
    assert f"for sqs, rds, emr, docdb, neptune, health: add --endpoint-url {server.endpoint_url}" in text
    assert f"endpoint_url = {server.endpoint_url}" in server.config_file.read_text()


def test_quick_start_copies_shortens_and_logs_on_the_simulated_clock(server):
    org = server.organization
    file_system = aws(server, "efs", "create-file-system", "--creation-token", "quick-start")["FileSystemArn"]
    started = aws(
        server,
        "backup",
        "start-backup-job",
        "--backup-vault-name",
        VAULT,
        "--resource-arn",
        file_system,
        "--iam-role-arn",
        org.copy_role_arn(org.main_account),
        "--lifecycle",
        "DeleteAfterDays=35",
    )

    assert eventually(
        lambda: [p for p in points_of(org, file_system, org.main_account) if p["Lifecycle"].get("DeleteAfterDays") == 8]
    ), "the original was not shortened"
    assert eventually(lambda: points_of(org, file_system, org.backup_account, "us-west-2")), "no copy 2"
    [point] = aws(server, "backup", "list-recovery-points-by-resource", "--resource-arn", file_system)["RecoveryPoints"]
    assert point["RecoveryPointArn"] == started["RecoveryPointArn"] and point["Status"] == "COMPLETED"
    original = aws(
        server,
        "backup",
        "describe-recovery-point",
        "--backup-vault-name",
        VAULT,
        "--recovery-point-arn",
        started["RecoveryPointArn"],
    )
    assert original["Lifecycle"]["DeleteAfterDays"] == 8
    copy_2 = aws(
        server,
        "backup",
        "list-recovery-points-by-backup-vault",
        "--backup-vault-name",
        VAULT,
        profile=BACKUP_PROFILE,
        region="us-west-2",
    )["RecoveryPoints"]
    assert [p["ResourceArn"] for p in copy_2] == [file_system]

    # One clock: the stack, the file system's backup and the log events all carry simulated times.
    stack = aws(server, "cloudformation", "describe-stacks", "--stack-name", "BackupEvents")["Stacks"][0]
    created = datetime.datetime.fromisoformat(stack["CreationTime"].replace("Z", "+00:00"))
    assert abs((created - org.clock.now()).days) < 2  # not the real date
    function = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}["FunctionName"]
    events = aws(
        server,
        "logs",
        "filter-log-events",
        "--log-group-name",
        f"/aws/lambda/{function}",
        "--start-time",
        str(int(created.timestamp() * 1000)),
    )["events"]
    assert any(started["RecoveryPointArn"] in e["message"] for e in events), "no log line names the backup"


def test_lambda_invoke_runs_the_deployed_code_without_docker(server, tmp_path):
    org = server.organization
    event = {
        "version": "0",
        "id": "manual",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": org.main_account,
        "time": f"{org.clock.now():%Y-%m-%dT%H:%M:%SZ}",
        "region": "us-east-1",
        "resources": [],
        "detail": {},
    }
    out = tmp_path / "out.json"
    answer = aws(
        server, "lambda", "invoke", "--function-name", "BackupEvents", "--payload", json.dumps(event), str(out)
    )
    assert answer["StatusCode"] == 200 and "FunctionError" not in answer
    assert json.loads(out.read_text())["action"] == "sweep"
    assert aws(server, "lambda", "get-account-settings")["AccountLimit"]["ConcurrentExecutions"] > 0


def test_preflight_passes_against_the_sandbox(server):
    done = run(
        server,
        "backup-events",
        "preflight",
        "--profile",
        MAIN_PROFILE,
        "--profile",
        BACKUP_PROFILE,
        "--management-profile",
        BACKUP_PROFILE,
        "--region",
        "us-east-1",
        "--org-id",
        "o-xxxxxxxxxx",
        "--backup-account-id",
        server.organization.backup_account,
        "--backup-region",
        "us-west-2",
        "--alternate-region",
        "us-east-1",
        "--vault-name",
        VAULT,
        check=False,
    )
    assert "All checks passed" in done.stdout, done.stdout + done.stderr
    assert done.returncode == 0


def test_a_backup_of_a_missing_resource_fails_and_lands_in_the_error_queue(server):
    org = server.organization
    missing = f"arn:aws:elasticfilesystem:us-east-1:{org.main_account}:file-system/fs-0000000000000dead"
    job = aws(
        server,
        "backup",
        "start-backup-job",
        "--backup-vault-name",
        VAULT,
        "--resource-arn",
        missing,
        "--iam-role-arn",
        org.copy_role_arn(org.main_account),
    )["BackupJobId"]
    assert eventually(lambda: [j for j in org.backup_service.backup_jobs() if j.job_id == job and j.state == "FAILED"])
    failed = aws(server, "backup", "describe-backup-job", "--backup-job-id", job)
    assert failed["State"] == "FAILED" and "does not exist" in failed["StatusMessage"]
    assert eventually(lambda: [m for m in org.error_messages(org.main_account, "us-east-1") if job in json.dumps(m)])
    # AWS CLI v1's sqs commands need --endpoint-url (serve says so).
    queue_url = aws(
        server, "sqs", "get-queue-url", "--queue-name", "BackupEvents-Errors", "--endpoint-url", server.endpoint_url
    )["QueueUrl"]
    messages = aws(
        server,
        "sqs",
        "receive-message",
        "--queue-url",
        queue_url,
        "--max-number-of-messages",
        "10",
        "--visibility-timeout",
        "0",
        "--endpoint-url",
        server.endpoint_url,
    )
    assert [m for m in messages["Messages"] if job in m["Body"]], "the failed job's event is not in the error queue"


def test_a_failed_copy_is_found_by_reconcile_and_redriven(server):
    org = server.organization
    file_system = aws(server, "efs", "create-file-system", "--creation-token", "redrive")["FileSystemArn"]
    with org.backup_service.lock:
        org.backup_service.fail_next_copies(1)  # the first copy of this backup fails
    aws(
        server,
        "backup",
        "start-backup-job",
        "--backup-vault-name",
        VAULT,
        "--resource-arn",
        file_system,
        "--iam-role-arn",
        org.copy_role_arn(org.main_account),
    )

    assert eventually(lambda: "FAILED" in copy_states(org, file_system))
    # The sweep's window is on the sandbox's clock (reconcile reads AWS's Date header), so it sees it.
    dry = run(server, "backup-events", "reconcile", "--profile", MAIN_PROFILE, "--region", "us-east-1", "--dry-run")
    assert "copy " in dry.stdout and "Dry run: nothing done." in dry.stdout, dry.stdout

    redriven = run(server, "backup-events", "redrive", "--profile", MAIN_PROFILE, "--region", "us-east-1", "--yes")
    assert "re-submitted event(s) succeeded" in redriven.stdout, redriven.stdout

    assert eventually(lambda: "COMPLETED" in copy_states(org, file_system)), "the redriven copy did not complete"
    jobs = aws(server, "backup", "list-copy-jobs", "--by-resource-arn", file_system)["CopyJobs"]
    assert {"FAILED", "COMPLETED"} <= {j["State"] for j in jobs}
    invoked = run(server, "backup-events", "reconcile", "--profile", MAIN_PROFILE, "--region", "us-east-1", "--invoke")
    assert "with a Scheduled Event" in invoked.stdout, invoked.stdout


def test_deploying_the_yaml_template_twice_updates_cleanly(server):
    org = server.organization
    template = Path(__file__).resolve().parents[2] / "backup_events_aws.yaml"
    parameters = [f"{k}={v}" for k, v in {**org.layout.template_parameters(), "NewDeleteAfterDays": "9"}.items()]
    for _ in range(2):
        run(
            server,
            "aws",
            "--profile",
            MAIN_PROFILE,
            "--region",
            "us-east-1",
            "cloudformation",
            "deploy",
            "--stack-name",
            "BackupEvents",
            "--template-file",
            str(template),
            "--capabilities",
            "CAPABILITY_NAMED_IAM",
            "--no-fail-on-empty-changeset",
            "--parameter-overrides",
            *parameters,
        )
    stack = aws(server, "cloudformation", "describe-stacks", "--stack-name", "BackupEvents")["Stacks"][0]
    assert stack["StackStatus"] == "UPDATE_COMPLETE"
    resources = {
        r.get("LogicalResourceId")
        for r in aws(server, "cloudformation", "describe-stack-resources", "--stack-name", "BackupEvents")[
            "StackResources"
        ]
    }
    assert "Function" in resources
    done = run(
        server,
        "backup-events",
        "deploy",
        "--org-id",
        "o-xxxxxxxxxx",
        "--backup-region",
        "us-west-2",
        "--alternate-region",
        "us-east-1",
        "--main-profile",
        MAIN_PROFILE,
        "--backup-profile",
        BACKUP_PROFILE,
        "--main-region",
        "us-east-1",
        "--poll-seconds",
        "0.2",
    )
    assert "UPDATE_COMPLETE" in done.stdout or "no changes" in done.stdout, done.stdout
