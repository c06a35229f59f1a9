"""Fixtures for the template tests (helpers and layouts: layouts.py)."""

import pytest
from layouts import ALL_INSTANCES, instance_id, rendered


@pytest.fixture(params=ALL_INSTANCES, ids=instance_id)
def instance(request):
    """(account, region, rendered template) for every instance of both layouts."""
    account, region = request.param
    return account, region, rendered(account, region)
