"""Canary: the moto internals that the sandbox's AWS Backup extension relies on.

If a moto upgrade moves or renames any of these, this file fails first, with a clear message,
instead of the sandbox misbehaving quietly.
"""

import inspect

import moto
import moto.backup.exceptions as backup_exceptions
import moto.backup.models as backup_models
import moto.backup.responses as backup_responses
import moto.backup.urls as backup_urls
from moto.core.base_backend import BaseBackend
from moto.core.exceptions import JsonRESTError
from moto.core.responses import ActionResult, BaseResponse, EmptyResult


def test_moto_version_is_the_pinned_one():
    assert moto.__version__ == "5.2.5", "the Backup extension was written against moto 5.2.5: re-check it"


def test_backup_url_paths_is_a_mutable_dict_of_dispatchers():
    assert isinstance(backup_urls.url_paths, dict)
    assert "{0}/backup-vaults/(?P<name>[^/]+)$" in backup_urls.url_paths
    assert backup_urls.url_bases == [r"https?://backup\.(.+)\.amazonaws\.com"]


def test_backup_response_has_what_the_subclass_uses():
    cls = backup_responses.BackupResponse
    assert issubclass(cls, BaseResponse)
    for name in (
        "dispatch",
        "call_action",
        "_get_action",
        "_get_param",
        "_get_params",
        "setup_class",
        "parse_parameters",
        "backup_backend",
        "describe_backup_vault",
    ):
        assert hasattr(cls, name), name
    assert "automated_parameter_parsing" in inspect.getsource(BaseResponse.__init__)
    assert "self.automated_parameter_parsing" in inspect.getsource(BaseResponse.setup_class)


def test_backup_backend_shape():
    backend_cls = backup_models.BackupBackend
    assert issubclass(backend_cls, BaseBackend)
    backend = backend_cls("us-east-1", "123456789012")
    for name in ("vaults", "plans"):
        assert isinstance(getattr(backend, name), dict), name
    vault = backend.create_backup_vault("v", {}, None, "req")
    for attribute in (
        "backup_vault_name",
        "backup_vault_arn",
        "encryption_key_arn",
        "locked",
        "min_retention_days",
        "max_retention_days",
        "num_of_recovery_points",
    ):
        assert hasattr(vault, attribute), attribute
    assert "to_list_dict" in dir(vault)
    # The sandbox keeps its state in the backend's __dict__, which reset() must empty.
    backend.__dict__["sandbox_state"] = object()
    backend.reset()
    assert "sandbox_state" not in backend.__dict__
    assert isinstance(backup_models.backup_backends, dict)


def test_action_results_and_exceptions():
    assert ActionResult({"a": 1}).result == {"a": 1}
    assert issubclass(EmptyResult, ActionResult)
    for name in ("ResourceNotFoundException", "InvalidParameterValueException", "InvalidRequestException"):
        error = getattr(backup_exceptions, name)("message")
        assert isinstance(error, JsonRESTError)
        assert error.code == 400
