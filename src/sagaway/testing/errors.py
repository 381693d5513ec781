"""The test kit's errors: each says what is wrong and what would be right."""

from __future__ import annotations


class SagaTestError(Exception):
    """A saga test cannot run as set up (bad definition, missing handler, ...)."""


class InvalidDefinitionError(SagaTestError):
    """The definition is not valid ASL; the message lists each problem with its location."""


class MockConfigError(SagaTestError, ValueError):
    """The mock configuration is malformed or names states the definition lacks."""
