"""Helpers to load the Lambda function as Lambda would: settings from the
environment, read once at import; each load is a fresh module (a cold start)."""

import importlib.util
import pathlib

import boto3
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
    "COPY1_RETENTION": "inherit",
    "COPY2_RETENTION": "inherit",
    "BACKUP_VAULT_TYPE": "standard",
    "BACKUP_VAULT_RETENTION": "none",
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
        # KMS: the function asks who manages a source key before copy 1.
        self.kms = boto3.client(
            "kms", region_name=region, aws_access_key_id="testing",
            aws_secret_access_key="testing")
        self.kms_stubber = Stubber(self.kms)
        module._clients[("kms", region)] = self.kms

    def __call__(self, event):
        with self.stubber, self.kms_stubber:
            result = self.module.lambda_handler(event, self.context)
        self.stubber.assert_no_pending_responses()
        self.kms_stubber.assert_no_pending_responses()
        return result
