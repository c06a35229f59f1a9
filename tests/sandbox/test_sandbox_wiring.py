"""The sandbox's wiring: every extension it installs is removed again; serve's start-up errors."""

from __future__ import annotations

import socket

import pytest

from backup_events_aws.cli import CliError
from backup_events_aws.sandbox import serve


def test_every_fix_is_undone_when_removed():
    from moto.awslambda import urls as lambda_urls
    from moto.awslambda.models import LambdaBackend
    from moto.cloudformation import models, parsing, responses
    from moto.core import utils

    from backup_events_aws.sandbox.clock import Clock
    from backup_events_aws.sandbox.lambda_api import ACCOUNT_SETTINGS_PATH, LambdaApi
    from backup_events_aws.sandbox.moto_fixes import MotoFixes

    import moto.backup.models as backup_models

    from backup_events_aws.sandbox.backup import BackupService

    def moto_state():
        return (backup_models.backup_backends, models.utcnow, responses.yaml_tag_constructor, models.yaml_tag_constructor,
                parsing.parse_and_update_resource, LambdaBackend.invoke, ACCOUNT_SETTINGS_PATH in lambda_urls.url_paths)

    untouched = moto_state()
    assert untouched[1] is utils.utcnow and not untouched[-1]
    fixes, api = MotoFixes(Clock().now).install(), LambdaApi(runtime=None, concurrency_quota=len).install()
    backup = BackupService(Clock()).install()
    assert all(now != then for now, then in zip(moto_state(), untouched))
    backup.uninstall()
    api.uninstall()
    fixes.uninstall()
    assert moto_state() == untouched


def test_a_busy_port_is_a_clear_error():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        server = serve.Server(port=busy.getsockname()[1])
        with pytest.raises(CliError) as refused:
            server.start()
    assert "cannot listen on 127.0.0.1:" in refused.value.problem and "--port 0" in refused.value.fix
