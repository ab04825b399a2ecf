"""The domain: commands every origin turns its request into, the call state machine, results."""
