"""Guardrails on cost: daily call limits per gateway, hook and Slack user, and a live-call cap."""
