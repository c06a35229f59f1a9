"""Operating Backup Events in real AWS accounts: deploy, preflight, reconcile,
redrive. Each module is one `backup-events` command."""
