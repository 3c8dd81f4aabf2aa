"""Secrets, redaction, access control and cleanup."""
