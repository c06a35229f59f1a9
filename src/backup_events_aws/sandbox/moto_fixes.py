"""Where moto 5.2.5 differs from AWS in ways the sandbox cannot work around from outside, fixed
for as long as a sandbox runs: `MotoFixes(clock).install()`, undone by `uninstall()`.

* One clock. moto stamps what it creates (stacks and their events, functions, roles, volumes,
  file systems, log events...) with the real time, while the sandbox's jobs, recovery points and
  function runs carry the simulated time. While installed, those services read the sandbox clock,
  so everything the sandbox stamps agrees, and CloudWatch Logs accepts the function's log events:
  PutLogEvents drops events more than 14 days older than its clock (as CloudWatch Logs does), and
  that was the real one. Each in-process answer's Date header carries it too (`sandbox serve` puts it
  in its own answers), the way AWS tells a client its time. SQS and STS keep the real clock: their
  time-outs (message visibility, credential expiry) must pass in real time for a client polling a
  server.
* YAML templates. moto reads the short form `!Condition Name` as `{"Fn::Condition": Name}`, which
  its condition evaluation takes for always true; CloudFormation reads it as `{"Condition": Name}`.
* JSON templates. moto parses every template with PyYAML's pure-Python loader (about a second
  for this template, several times per deploy); a JSON one is parsed as JSON instead.
* An empty change set. CreateChangeSet with nothing to change succeeds on AWS, the change set
  then FAILED ("The submitted information didn't contain changes...", which `aws cloudformation
  deploy --no-fail-on-empty-changeset` looks for); moto's backend does that, but its response
  layer refuses first with UpdateStack's "No updates are to be performed.".
* Updates of conditional resources. On an update moto "modifies" a resource whose Condition is
  false (it was never created) and crashes (an HTML 500); CloudFormation creates a resource whose
  condition became true, deletes one whose condition became false, and leaves alone one whose
  condition stays false.
"""

from __future__ import annotations

import datetime
import importlib
import json
import sys
from collections.abc import Callable
from typing import Any

from .patches import Patches

# moto services whose stamps follow the sandbox clock (their models import `utcnow` by name).
SIMULATED_TIME_SERVICES = (
    "backup",
    "cloudformation",
    "awslambda",
    "logs",
    "iam",
    "events",
    "ec2",
    "efs",
    "rds",
    "kms",
    "organizations",
    "dynamodb",
    "s3",
    "sns",
    "cloudwatch",
)


class MotoFixes:
    def __init__(self, now: Callable[[], datetime.datetime]):
        self.now = now  # the sandbox clock (aware, UTC)
        self.patches = Patches()

    @property
    def installed(self) -> bool:
        return self.patches.active

    def install(self) -> MotoFixes:
        if self.patches.active:
            return self
        self._install_clock()
        self._install_yaml_conditions()
        self._install_json_templates()
        self._install_empty_change_sets()
        self._install_conditional_updates()
        return self

    def uninstall(self) -> None:
        self.patches.undo()

    # ------------------------------------------------------------------ one clock

    def utcnow(self) -> datetime.datetime:
        """moto's `utcnow()`: naive UTC, from the sandbox clock."""
        return self.now().astimezone(datetime.UTC).replace(tzinfo=None)

    def _install_clock(self) -> None:
        from moto.core import utils

        for service in SIMULATED_TIME_SERVICES:
            importlib.import_module(f"moto.{service}.models")  # moto imports models lazily
        for name, module in list(sys.modules.items()):
            in_service = name.startswith("moto.") and name.split(".")[1] in SIMULATED_TIME_SERVICES
            if not in_service and name != "moto.core.responses":  # the latter: each answer's Date header
                continue
            if getattr(module, "utcnow", None) is utils.utcnow:
                self._replace(module, "utcnow", self.utcnow)

    # ------------------------------------------------------------------ YAML short-form Condition

    def _install_yaml_conditions(self) -> None:
        from moto.cloudformation import models, responses, utils

        moto_constructor = utils.yaml_tag_constructor

        def constructor(loader: Any, tag: str, node: Any) -> Any:
            if tag == "!Condition":
                return {"Condition": node.value}
            return moto_constructor(loader, tag, node)

        for module in (models, responses):  # each registers the constructor it imported, per parse
            self._replace(module, "yaml_tag_constructor", constructor)

    # ------------------------------------------------------------------ JSON templates as JSON

    def _install_json_templates(self) -> None:
        from moto.cloudformation import models, responses

        for module in (models, responses):  # both call yaml.load(text, Loader=yaml.Loader)
            self._replace(module, "yaml", _JsonFirstYaml(module.yaml))

    # ------------------------------------------------------------------ empty change sets

    def _install_empty_change_sets(self) -> None:
        from moto.cloudformation.responses import CloudFormationResponse

        moto_create = CloudFormationResponse.create_change_set

        def create_change_set(response: Any) -> Any:
            # UpdateStack's pre-check only: the backend marks an empty change set FAILED, as AWS does.
            response._validate_different_update = lambda *arguments, **keywords: None
            return moto_create(response)

        self._replace(CloudFormationResponse, "create_change_set", create_change_set)

    # ------------------------------------------------------------------ conditional resources on update

    def _install_conditional_updates(self) -> None:
        from moto.cloudformation import parsing

        moto_update = parsing.parse_and_update_resource

        def update(
            logical_id: str, resource_json: dict[str, Any], resources_map: Any, account_id: str, region_name: str
        ) -> Any:
            condition = resource_json.get("Condition")
            wanted = not condition or bool(resources_map.lazy_condition_map[condition])
            existing = resources_map._parsed_resources.get(logical_id)
            if not wanted:
                if existing is not None:  # the condition became false: CloudFormation deletes it
                    parsing.parse_and_delete_resource(
                        getattr(existing, "physical_resource_id", logical_id), resource_json, account_id, region_name
                    )
                return None
            if existing is None:  # the condition became true: CloudFormation creates it
                return parsing.parse_and_create_resource(
                    logical_id, resource_json, resources_map, account_id, region_name
                )
            return moto_update(logical_id, resource_json, resources_map, account_id, region_name)

        self._replace(parsing, "parse_and_update_resource", update)

    # ------------------------------------------------------------------ helpers

    def _replace(self, owner: Any, name: str, value: Any) -> None:
        self.patches.replace(owner, name, value)


class _JsonFirstYaml:
    """The `yaml` module as moto's CloudFormation sees it: `load` reads JSON text as JSON."""

    def __init__(self, yaml: Any):
        self._yaml = yaml

    def __getattr__(self, name: str) -> Any:
        return getattr(self._yaml, name)

    def load(self, stream: Any, Loader: Any = None) -> Any:  # noqa: N803 - yaml's own signature
        if isinstance(stream, str) and stream.lstrip().startswith("{"):
            try:
                return json.loads(stream)
            except ValueError:
                pass  # not JSON after all: YAML decides
        return self._yaml.load(stream, Loader=Loader)
