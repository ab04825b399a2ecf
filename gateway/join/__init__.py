"""Join links and the join page."""
