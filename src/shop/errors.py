"""Errors the shop's handlers raise. The class name is the ASL error (as Lambda reports it),
so the saga's Retry and Catch select on these names."""


class ServiceUnavailable(Exception):
    """Transient: a service's dependency is down. Retried; parks the order when exhausted."""


class GatewayTimeout(Exception):
    """Transient and ambiguous: the gateway may have done it. Retried with the same
    idempotency key, which makes the retry safe."""


class InvalidOrder(Exception):
    """The order cannot be processed as given (missing total, items, ...)."""


class OutOfStock(Exception):
    pass


class PaymentDeclined(Exception):
    pass


class InsufficientPoints(Exception):
    pass


class InvalidAddress(Exception):
    pass


class Unauthorized(Exception):
    """A third party refused the shop's API key (its HTTP 401): missing or wrong. Not
    retried: the key is a setting to fix. The message never repeats the key."""


class CourierTimeout(Exception):
    """The courier API did not answer in time (seed 001's launch-day failure)."""


TRANSIENT = ("ServiceUnavailable", "GatewayTimeout")
