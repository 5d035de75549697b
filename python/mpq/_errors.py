"""The exceptions mpq raises. The C++ library's errors (mpq::Error) arrive as one of these,
carrying mpq's one-line message: "<file>: node '<node>': key '<key>': <what to do>"."""


class Error(RuntimeError):
    """An mpq failure. `code`, `file`, `node` and `key` say what and where, as mpq's Status."""

    def __init__(self, message, code="internal", file="", node="", key=""):
        super().__init__(message)
        self.code, self.file, self.node, self.key = code, file, node, key


class InvalidInputError(Error, ValueError):
    """The input (a file, an option, data, a config) is wrong: fix it and retry."""


class UnsupportedError(Error):
    """Valid input that mpq cannot handle (an op, a precision on a backend)."""
