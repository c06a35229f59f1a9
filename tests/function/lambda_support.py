"""Helpers to load the Lambda function as Lambda would: a fresh module (a cold
start), then the handler from its one factory, build_function(), with the
settings as environment variables, a stubbed client and the test's clock."""

import datetime
import importlib.util
import pathlib

import boto3
from botocore.stub import Stubber

SOURCE = pathlib.Path(__file__).parents[2] / "src" / "backup_events_aws" / "lambda_function.py"
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


def fresh_module(name="index"):
    spec = importlib.util.spec_from_file_location(name, SOURCE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Context:
    """The parts of Lambda's context object the function reads."""

    def __init__(self, account, region, partition="aws"):
        self.invoked_function_arn = f"arn:{partition}:lambda:{region}:{account}:function:BackupEvents"
        self.aws_request_id = "c0ffee00-0000-4000-8000-000000000000"


class LoadedFunction:
    def __init__(self, module, environ, account, region, partition, clock=None):
        self.module = module
        self.context = Context(account, region, partition)
        self.region = region
        self.client = boto3.client(
            "backup", region_name=region, aws_access_key_id="testing", aws_secret_access_key="testing"
        )
        self.stubber = Stubber(self.client)
        # KMS: before copy 1 the function asks who manages a source key.
        self.kms = boto3.client("kms", region_name=region, aws_access_key_id="testing", aws_secret_access_key="testing")
        self.kms_stubber = Stubber(self.kms)
        self.environ = environ
        self.now = clock or datetime.datetime.now(datetime.UTC)
        self.sleeps = []
        self.handler = module.build_function(
            environ,
            clients=lambda region: self.client,
            clock=lambda: self.now,
            sleep=self.sleeps.append,
            services=lambda service, region: {"kms": self.kms}[service],
        )
        self.settings = self.handler.settings
        self.place = module.Place.of(self.context, self.settings)

    def __call__(self, event):
        with self.stubber, self.kms_stubber:
            result = self.handler(event, self.context)
        self.stubber.assert_no_pending_responses()
        self.kms_stubber.assert_no_pending_responses()
        return result
