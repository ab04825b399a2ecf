"""Per-call status links: what the caller of a hook can read about its call, without a token."""
