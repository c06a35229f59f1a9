"""`backup-events sandbox serve`: the organisation behind a local endpoint, driven by plain boto3."""

from __future__ import annotations

import argparse
import queue
import threading
import time

import boto3

from backup_events_aws.cli import build_parser
from backup_events_aws.sandbox import serve

VAULT = "BackupEvents-Sample"


def client_for(server: serve.Server, account: str, region: str = "us-east-1", service: str = "backup"):
    variables = server.credentials()[account]
    return boto3.client(
        service,
        region_name=region,
        endpoint_url=variables["AWS_ENDPOINT_URL"],
        aws_access_key_id=variables["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=variables["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=variables["AWS_SESSION_TOKEN"],
    )


def eventually(check, attempts: int = 300, pause: float = 0.1):
    """Poll until `check()` is truthy (the clock thread moves the sandbox meanwhile)."""
    for _ in range(attempts):
        value = check()
        if value:
            return value
        time.sleep(pause)
    return check()


def test_the_cli_knows_sandbox_serve():
    arguments = build_parser().parse_args(["sandbox", "serve", "--port", "0", "--speed", "120"])
    assert arguments.run is serve.run and arguments.port == 0 and arguments.speed == 120


def test_serve_deploys_the_organisation_and_backups_flow_through_the_endpoint(capsys):
    stop, ready = threading.Event(), queue.Queue()
    arguments = argparse.Namespace(host="127.0.0.1", port=serve.free_port(), speed=1200.0, layout="minimum")
    thread = threading.Thread(
        target=serve.run, args=(arguments,), kwargs={"wait": stop.wait, "ready": ready.put}, daemon=True
    )
    thread.start()
    try:
        server = ready.get(timeout=120)
        main, backup = server.organization.main_account, server.organization.backup_account
        printed = capsys.readouterr().out
        assert f"Sandbox AWS endpoint: http://127.0.0.1:{arguments.port}" in printed
        assert f"# backup account {backup}" in printed and f"# resource account {main}" in printed
        key = server.credentials()[main]["AWS_ACCESS_KEY_ID"]
        assert f"export AWS_ACCESS_KEY_ID={key}" in printed

        resource = client_for(server, main)
        assert VAULT in [v["BackupVaultName"] for v in resource.list_backup_vaults()["BackupVaultList"]]
        efs = client_for(server, main, service="efs").create_file_system(CreationToken="serve")["FileSystemArn"]
        started = resource.start_backup_job(
            BackupVaultName=VAULT,
            IamRoleArn=server.organization.copy_role_arn(main),
            ResourceArn=efs,
            Lifecycle={"DeleteAfterDays": 35},
        )

        def shortened():
            point = resource.describe_recovery_point(
                BackupVaultName=VAULT, RecoveryPointArn=started["RecoveryPointArn"]
            )
            return point["Status"] == "COMPLETED" and point["Lifecycle"].get("DeleteAfterDays") == 8

        def copy2():
            west = client_for(server, backup, "us-west-2")
            return west.list_recovery_points_by_backup_vault(BackupVaultName=VAULT)["RecoveryPoints"]

        assert eventually(lambda: _quietly(shortened)), "the original was not shortened"
        [point] = eventually(copy2)
        assert point["SourceBackupVaultArn"] == f"arn:aws:backup:us-east-1:{backup}:backup-vault:{VAULT}"
    finally:
        stop.set()
        thread.join(timeout=60)
    assert not thread.is_alive()


def _quietly(check):
    try:
        return check()
    except resource_not_found():
        return False  # the recovery point appears when the backup job completes


def resource_not_found():
    from botocore.exceptions import ClientError

    return ClientError


def test_a_failing_clock_is_logged_and_stops_the_server(caplog, capsys):
    stop, ready = threading.Event(), queue.Queue()
    arguments = argparse.Namespace(host="127.0.0.1", port=serve.free_port(), speed=60.0, layout="minimum")
    outcome = queue.Queue()
    thread = threading.Thread(
        target=lambda: outcome.put(serve.run(arguments, wait=stop.wait, ready=ready.put)), daemon=True
    )
    thread.start()
    try:
        server = ready.get(timeout=120)
        assert server.healthy

        def broken(seconds: float) -> int:
            raise RuntimeError("a callback broke")

        server.organization.advance = broken
        assert eventually(lambda: not server.healthy)
        assert outcome.get(timeout=60) == 1  # serve returned by itself, `wait` never did
        assert isinstance(server.clock_failure, RuntimeError)
        assert "The sandbox clock failed" in caplog.text and "a callback broke" in caplog.text
        assert "the sandbox clock failed (RuntimeError: a callback broke)" in capsys.readouterr().out
    finally:
        stop.set()
        thread.join(timeout=60)
