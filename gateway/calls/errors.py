"""Errors of the domain that every origin turns into its own answer."""


class UnknownAgentError(Exception):
    """The agent reference is neither an id nor a name the gateway knows."""

    def __init__(self, ref: str) -> None:
        super().__init__(f"unknown agent {ref!r}: use an agent id (agt_…) or a known name")
        self.ref = ref


class UnknownCallError(Exception):
    """The gateway has no call with that id."""

    def __init__(self, call_id: str) -> None:
        super().__init__(f"unknown call {call_id!r}")
        self.call_id = call_id
