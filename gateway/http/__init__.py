"""HTTP plumbing shared by every route: errors, request ids, body limits."""
