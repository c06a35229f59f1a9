"""The installed package carries the template the CLI deploys."""

import importlib.resources
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_the_package_ships_the_template():
    shipped = importlib.resources.files("backup_events_aws").joinpath("backup_events_aws.yaml")
    assert shipped.read_bytes() == (ROOT / "backup_events_aws.yaml").read_bytes()
