"""The order-processing system of the seed documents, built on Sagaway's public API only.

Six services (orders, inventory, payments, loyalty, shipping, notifications), each owning its
own SQLite database; a simulated payment gateway and courier; an intake HTTP service; the
order saga; and ``sagaway demo``, the flash sale that runs it all and audits the result.
"""
