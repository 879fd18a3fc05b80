"""Backup Validator: restores AWS Backup recovery points, tests the data, reports and cleans up."""

__version__ = "0.1.0"
