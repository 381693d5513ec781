"""RFC 3339 timestamps, as AWS checks a Wait state's literal ``Timestamp``.

AWS insists on the full form: a ``T`` between date and time and an explicit offset (``Z`` or
``+hh:mm``); ``2016-12-05 21:29:29Z`` and ``2016-12-05T21:29:29`` are both refused.
"""

from __future__ import annotations

import datetime as dt
import re

_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})"
)

NOT_RFC3339 = "String does not match RFC3339 timestamp"


def is_rfc3339(text: str) -> bool:
    match = _RFC3339.fullmatch(text)
    if match is None:
        return False
    year, month, day, hour, minute, second = (int(part) for part in match.groups()[:6])
    try:
        # A leap second (:60) is valid RFC 3339 but not a datetime; check it as :59.
        dt.datetime(year, month, day, hour, minute, min(second, 59))
    except ValueError:
        return False
    offset = match.group(8)
    if offset not in ("Z", "z"):
        hours, minutes = int(offset[1:3]), int(offset[4:6])
        return hours <= 23 and minutes <= 59
    return True
