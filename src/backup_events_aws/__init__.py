"""Backup Events: copy every AWS Backup backup to a central backup account and a
second region, then shorten the original's retention once that is safe."""
