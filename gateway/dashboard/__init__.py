"""The operator's dashboard at `/`: calls, deliveries, charts, replay, and "Try a call"."""
