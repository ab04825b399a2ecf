"""Slack's tables (slack_sdk's installation and OAuth state stores), as Alembic revisions.

A folder of the gateway's one linear revision chain (see `gateway.store.database`): the
store finds it through the `oneinbox_gateway.migrations` entry point.
"""
