"""What the operations commands share: sessions, the template, stacks, progress.

AWS conventions: `--profile` (else AWS_PROFILE or environment credentials),
`--region` (else AWS_REGION / AWS_DEFAULT_REGION / the profile's region).
Every failure a user can fix becomes a `CliError(problem, fix)`.
"""

from __future__ import annotations

import datetime
import email.utils
import functools
import importlib.resources
import json
import re
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import botocore.exceptions

from .. import parameters
from ..cli import CliError
from ..template import MAX_TEMPLATE_BYTES  # the TemplateBody limit, defined once

if TYPE_CHECKING:  # boto3 is imported when a session is made: `COMMAND --help` starts faster without it
    import boto3

TEMPLATE_NAME = "backup_events_aws.yaml"
_REPOSITORY_TEMPLATE = Path(__file__).resolve().parents[3] / TEMPLATE_NAME
DEFAULT_STACK_NAME = "BackupEvents"


# --------------------------------------------------------------------------- arguments


def add_aws_arguments(parser: Any, region_help: str = "AWS region (else AWS_REGION or the profile's)") -> None:
    parser.add_argument("--profile", help="AWS profile (else AWS_PROFILE or environment credentials)")
    parser.add_argument("--region", help=region_help)


def add_stack_argument(parser: Any) -> None:
    parser.add_argument(
        "--stack-name", default=None, help="the stack's name (default: the template's suggested name, BackupEvents)"
    )


# --------------------------------------------------------------------------- sessions


@functools.cache
def _data_loader(data_path: str | None) -> Any:
    """botocore's data files (service models, endpoints), parsed once per process: a command that
    works across several profiles and regions makes a session for each, and a fresh session would
    parse them again (about 0.15 s of CPU per session and its first clients). One per data path
    (AWS_DATA_PATH), as botocore's own sessions make it."""
    import botocore.loaders

    return botocore.loaders.create_loader(data_path)


def session(profile: str | None, region: str | None) -> boto3.Session:
    """A boto3 session with a region, or a CliError that says how to give one."""
    import boto3
    import botocore.session

    core = botocore.session.get_session()
    try:
        if profile:
            core.set_config_variable("profile", profile)
        loader = _data_loader(core.get_config_variable("data_path"))  # reads the profile: may not exist
        core.register_component("data_loader", loader)
        result = boto3.Session(profile_name=profile or None, region_name=region or None, botocore_session=core)
    except botocore.exceptions.ProfileNotFound:
        raise CliError(
            f"AWS profile '{profile}' not found",
            f"check the name in ~/.aws/config, or run 'aws configure --profile {profile}'",
        ) from None
    # boto3 adds its data directory to the loader's search path for every session: keep it once.
    loader.search_paths[:] = list(dict.fromkeys(loader.search_paths))
    if not result.region_name:
        raise CliError("no AWS region given", "pass --region, or set AWS_REGION, or set region in the profile")
    return result


def account_of(aws: boto3.Session) -> str:
    return str(aws.client("sts").get_caller_identity()["Account"])


def error_code(error: Exception) -> str:
    return (
        getattr(error, "response", {}).get("Error", {}).get("Code", "")
        if isinstance(error, botocore.exceptions.ClientError)
        else ""
    )


# --------------------------------------------------------------------------- the template


def default_template_path() -> Any:
    """The template packaged with backup_events_aws (importlib.resources), else the repository's
    root file (a source checkout the package data is not built into). A Path or a Traversable:
    both have read_text()."""
    packaged = importlib.resources.files("backup_events_aws").joinpath(TEMPLATE_NAME)
    return packaged if packaged.is_file() else _REPOSITORY_TEMPLATE


def read_template(path: str | Path | None = None) -> str:
    """The template text, checked against the TemplateBody limit."""
    path = Path(path) if path else default_template_path()
    try:
        body = path.read_text(encoding="utf-8")
    except OSError as error:
        raise CliError(
            f"cannot read the template {path}: {error.strerror}",
            "pass --template-file with the path of backup_events_aws.yaml",
        ) from None
    size = len(body.encode("utf-8"))
    if size > MAX_TEMPLATE_BYTES:
        raise CliError(
            f"the template {path} is {size:,} bytes; TemplateBody accepts at most {MAX_TEMPLATE_BYTES:,}",
            "use the released template, or upload it to S3 and deploy it with TemplateURL",
        )
    return body


def template_metadata(body: str) -> dict[str, str]:
    """Metadata.BackupEvents (Version, SuggestedStackName, StackSetDescription, Help), read without a YAML
    parser (boto3 is the only runtime dependency). JSON templates work too."""
    if body.lstrip().startswith("{"):
        return dict(_json(body).get("Metadata", {}).get("BackupEvents", {}))
    found = {}
    for key in ("Version", "SuggestedStackName", "StackSetDescription", "Help"):
        match = re.search(rf'^\s*"?{key}"?\s*:\s*"?(?P<value>[^"\n#]+?)"?\s*,?\s*(#.*)?$', body, re.MULTILINE)
        if match:
            found[key] = match.group("value")
    return found


def template_parameter_names(body: str) -> list[str]:
    """The names under the top-level `Parameters:` section (YAML or JSON template)."""
    try:
        return list(parameters.definitions(body))
    except ValueError as error:  # JSON or the YAML subset parameters.py reads
        raise CliError(
            f"cannot read the template's Parameters: {error}", "pass the YAML or JSON template as shipped"
        ) from None


def _json(body: str) -> dict[str, Any]:
    try:
        parsed: dict[str, Any] = json.loads(body)
    except ValueError as error:
        raise CliError(
            f"the template is not valid JSON: {error}", "pass the YAML or JSON template as shipped"
        ) from None
    return parsed


def capabilities_for(body: str) -> list[str]:
    """CAPABILITY_NAMED_IAM only when the template names IAM resources itself."""
    if re.search(r'"?\b(RoleName|ManagedPolicyName|GroupName|UserName|InstanceProfileName)"?\s*:', body):
        return ["CAPABILITY_NAMED_IAM"]
    if "AWS::IAM::" in body:
        return ["CAPABILITY_IAM"]
    return []


def parse_parameters(pairs: list[str] | None, known: list[str]) -> dict[str, str]:
    """`--parameter Key=Value` (repeatable) as a dict, keys checked against the template."""
    parameters: dict[str, str] = {}
    for pair in pairs or []:
        key, equals, value = pair.partition("=")
        if not equals or not key:
            raise CliError(f"--parameter {pair!r} is not Key=Value", "write it like --parameter NewDeleteAfterDays=7")
        if known and key not in known:
            raise CliError(f"the template has no parameter {key!r}", f"use one of: {', '.join(known)}")
        parameters[key] = value
    return parameters


# --------------------------------------------------------------------------- stacks


def describe_stack(cloudformation: Any, stack_name: str) -> dict[str, Any] | None:
    """The stack (DescribeStacks), or None when there is no stack of that name."""
    try:
        stack: dict[str, Any] = cloudformation.describe_stacks(StackName=stack_name)["Stacks"][0]
    except botocore.exceptions.ClientError as error:
        if error_code(error) == "ValidationError" and "does not exist" in str(error):
            return None
        raise
    return stack


def outputs_of(stack: dict[str, Any]) -> dict[str, str]:
    return {output["OutputKey"]: output["OutputValue"] for output in stack.get("Outputs", [])}


def stack_outputs(cloudformation: Any, stack_name: str, where: str = "") -> dict[str, str]:
    """The stack's outputs, or a CliError when the stack is not there."""
    stack = describe_stack(cloudformation, stack_name)
    if stack is None:
        place = f" in {where}" if where else ""
        raise CliError(
            f"stack {stack_name!r} not found{place}",
            "deploy it with 'backup-events deploy', or pass the right --stack-name, --profile and --region",
        )
    return outputs_of(stack)


def where(aws: boto3.Session, profile: str | None) -> str:
    return f"{profile or 'default credentials'} / {aws.region_name}"


# --------------------------------------------------------------------------- the function


def scheduled_event(account: str, region: str, at: datetime.datetime | None = None) -> dict[str, Any]:
    """What the daily rule sends: invoking the function with it runs the catch-up sweep."""
    at = at or datetime.datetime.now(datetime.UTC)
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": account,
        "time": at.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [],
        "detail": {},
    }


def aws_time(response: dict[str, Any]) -> datetime.datetime | None:
    """The time AWS says it is: the Date header of one of its answers (to the second), or None.
    Decisions that depend on "now" take it from AWS rather than this machine: a skewed laptop clock
    can't shift them, and against the sandbox they follow its simulated clock."""
    header = (response.get("ResponseMetadata") or {}).get("HTTPHeaders", {}).get("date")
    if not header:
        return None
    try:
        return email.utils.parsedate_to_datetime(header).astimezone(datetime.UTC)
    except (TypeError, ValueError):
        return None


def caller_and_time(aws: boto3.Session) -> tuple[str, datetime.datetime]:
    """The caller's account and AWS's time (this machine's when AWS's answer has no Date)."""
    response = aws.client("sts").get_caller_identity()
    return response["Account"], aws_time(response) or datetime.datetime.now(datetime.UTC)


def invoke(lambda_client: Any, function: str, event: Any) -> tuple[bool, Any]:
    """Invoke the function synchronously (RequestResponse) with `event`: (succeeded, payload), the
    payload decoded from JSON when it is JSON (an error's is {"errorMessage": ...})."""
    response = lambda_client.invoke(FunctionName=function, InvocationType="RequestResponse", Payload=json.dumps(event))
    text = response["Payload"].read().decode("utf-8", "replace")
    try:
        result: Any = json.loads(text)
    except ValueError:
        result = text
    return not response.get("FunctionError"), result


def error_message(result: Any) -> Any:
    """A failed invocation's errorMessage, or its whole payload when it has none."""
    return result.get("errorMessage") if isinstance(result, dict) else result


# --------------------------------------------------------------------------- progress


class Progress:
    """Prints each step as it happens, with the time elapsed since the command started."""

    def __init__(self, out: Any = None, clock: Callable[[], float] = time.monotonic):
        self.out = out or sys.stdout
        self.clock = clock
        self.started = clock()

    def elapsed(self) -> float:
        return self.clock() - self.started

    def say(self, text: str) -> None:
        print(f"[{self.elapsed():7.1f}s] {text}", file=self.out, flush=True)


def sleep(seconds: float) -> None:
    """Pause between polls (tests set poll intervals to 0)."""
    if seconds > 0:
        time.sleep(seconds)
