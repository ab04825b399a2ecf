"""Delivery of call results: outbox, destinations registry, retry policy, signing, SSRF guard."""
