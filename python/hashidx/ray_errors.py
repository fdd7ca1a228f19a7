"""The errors of the Ray service: what the router answers, and how a group's error (sent
back as its class name and message) becomes one."""
from __future__ import annotations

#: A group's error class → the stable code `hashidx serve` answers with.
CODES = {"DimensionError": "dimension_mismatch", "NonFiniteError": "non_finite_value", "ZeroVectorError": "zero_vector",
         "InvalidFilterError": "invalid_filter", "UnknownIDError": "unknown_id", "InvalidArgumentError": "invalid_argument",
         "InvalidAttributesError": "invalid_attributes", "InvalidIDError": "invalid_id", "DuplicateIDError": "duplicate_id"}
#: The client faults a search or an item read can meet.
READ_ERRORS = frozenset(["DimensionError", "NonFiniteError", "ZeroVectorError", "InvalidFilterError", "UnknownIDError",
                         "InvalidArgumentError"])
#: The client faults a write can meet (anything else in a commit is the service's).
WRITE_ERRORS = frozenset(["InvalidAttributesError", "InvalidIDError", "DimensionError", "NonFiniteError",
                          "ZeroVectorError", "DuplicateIDError"])


class RequestError(Exception):
    """A client's fault: an HTTP status, a stable code and a message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def group_error(error: list, client_errors: frozenset, fallback: str) -> RequestError:
    """The answer to a group's `[class name, message]`: a 4xx with its code when the class is
    one of `client_errors`, else a 500 with `fallback`."""
    kind, message = error
    if kind in client_errors:
        code = CODES[kind]
        return RequestError(404 if code == "unknown_id" else 400, code, message)
    return RequestError(500, fallback, message)
