"""Load the Lambda function as Lambda would: settings from the environment,
read once at import. Each test gets a fresh module (a cold start)."""

import importlib.util
import logging
import pathlib

import boto3
import pytest
from botocore.stub import Stubber

SOURCE = (pathlib.Path(__file__).parents[2] / "src" / "backup_events_aws"
          / "lambda_function.py")
MAIN, BACKUP = "000022224444", "999977775555"
DEFAULT_SETTINGS = {
    "BACKUP_ACCOUNT_ID": BACKUP,
    "BACKUP_REGION": "us-west-2",
    "BACKUP_REGION_ALTERNATE": "us-east-1",
    "VAULT_NAME": "BackupEvents-Sample",
    "COPY_ROLE_ARN": "arn:aws:iam::{account}:role/service-role/AWSBackupDefaultServiceRole",
    "NEW_DELETE_AFTER_DAYS": "7",
    "ENABLE_COPY": "true",
    "ENABLE_SHORTEN_RETENTION": "true",
    "BACKUPS_TO_COVER": "all",
    "CATCH_UP_DAYS": "7",
}


class Context:
    """The parts of Lambda's context object the function reads."""

    def __init__(self, account, region, partition="aws"):
        self.invoked_function_arn = (
            f"arn:{partition}:lambda:{region}:{account}:function:BackupEvents")
        self.aws_request_id = "c0ffee00-0000-4000-8000-000000000000"


class LoadedFunction:
    def __init__(self, module, account, region, partition):
        self.module = module
        self.context = Context(account, region, partition)
        self.region = region
        self.client = boto3.client(
            "backup", region_name=region, aws_access_key_id="testing",
            aws_secret_access_key="testing")
        self.stubber = Stubber(self.client)
        module._clients[region] = self.client

    def __call__(self, event):
        with self.stubber:
            result = self.module.lambda_handler(event, self.context)
        self.stubber.assert_no_pending_responses()
        return result


@pytest.fixture
def load_function(monkeypatch):
    """load_function(account, region, **settings) -> LoadedFunction."""

    def load(account=MAIN, region="us-east-1", partition="aws", **settings):
        values = dict(DEFAULT_SETTINGS, **settings)
        values["COPY_ROLE_ARN"] = values["COPY_ROLE_ARN"].format(account=account)
        for name, value in values.items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("AWS_REGION", region)
        spec = importlib.util.spec_from_file_location("index", SOURCE)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return LoadedFunction(module, account, region, partition)

    return load


@pytest.fixture
def log_lines(caplog):
    """The function's log records, as (level name, dict) pairs."""
    caplog.set_level(logging.DEBUG, logger="backup_events")

    def lines():
        return [(record.levelname, record.msg) for record in caplog.records
                if record.name == "backup_events"]

    return lines
