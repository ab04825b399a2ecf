"""Recording links that keep working: the gateway's own link, a fresh upstream URL on each use."""
