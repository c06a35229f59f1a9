"""AWS Backup's URLs for moto: every stock path and the ones stock moto does not route, all to
`SandboxBackupResponse`. moto reads this module as the urls of `SandboxBackupBackend` (it looks
next to the backend's models module), so installing the service's backends installs the routes.
"""

from __future__ import annotations

from types import MappingProxyType

from moto.backup.urls import url_bases as moto_url_bases
from moto.backup.urls import url_paths as moto_url_paths

from .responses import SandboxBackupResponse

url_bases = tuple(moto_url_bases)

ADDED_PATHS = (
    "{0}/backup-jobs/?$",
    "{0}/backup-jobs/(?P<backupJobId>[^/]+)$",
    "{0}/copy-jobs/?$",
    "{0}/copy-jobs/(?P<copyJobId>[^/]+)$",
    "{0}/backup-vaults/(?P<backupVaultName>[^/]+)/recovery-points/?$",
    # The server turns "/?$" into a path without the slash, and botocore sends it with one.
    "{0}/backup-vaults/(?P<backupVaultName>[^/]+)/recovery-points/$",
    "{0}/backup-vaults/(?P<backupVaultName>[^/]+)/recovery-points/(?P<recoveryPointArn>.+)$",
    "{0}/backup-vaults/(?P<backupVaultName>[^/]+)/access-policy/?$",
    # Settings and read-outs (account_settings.py)
    "{0}/global-settings/?$",
    "{0}/account-settings/?$",
    "{0}/backup-vaults/(?P<backupVaultName>[^/]+)/notification-configuration/?$",
    "{0}/resources/(?P<resourceArn>.+)/recovery-points/?$",
    "{0}/resources/(?P<resourceArn>.+)/recovery-points/$",
    "{0}/logically-air-gapped-backup-vaults/(?P<backupVaultName>[^/]+)$",
)

url_paths = MappingProxyType(dict.fromkeys((*moto_url_paths, *ADDED_PATHS), SandboxBackupResponse.dispatch))
