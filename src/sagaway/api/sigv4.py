"""AWS Signature Version 4, checked on the server side.

The client signs a canonical form of its request (method, path, query, the headers it lists
in SignedHeaders, the SHA-256 of the body) with a key derived from its secret, the date,
the region and the service; the server rebuilds that form from what it received and
compares. Failures answer with the codes AWS's JSON services use, so SDKs report them as
they would against AWS.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import parse_qsl, quote

from sagaway.api.credentials import Credential
from sagaway.api.errors import ApiError

ALGORITHM = "AWS4-HMAC-SHA256"
SERVICE = "states"
DATE_FORMAT = "%Y%m%dT%H%M%SZ"
MISMATCH = (
    "The request signature we calculated does not match the signature you provided. Check "
    "your AWS Secret Access Key and signing method. Consult the service documentation for "
    "details."
)


@dataclass(frozen=True)
class SignedRequest:
    """What the signature covers, as the server received it (header names lowercase)."""

    method: str
    path: str
    query: str
    headers: Sequence[tuple[str, str]]
    body: bytes


@dataclass(frozen=True)
class Authorization:
    access_key_id: str
    date: str
    region: str
    service: str
    signed_headers: tuple[str, ...]
    signature: str

    @property
    def scope(self) -> str:
        return f"{self.date}/{self.region}/{self.service}/aws4_request"


def incomplete(message: str) -> ApiError:
    return ApiError("IncompleteSignature", message)


def invalid(message: str) -> ApiError:
    return ApiError("InvalidSignatureException", message)


def parse_authorization(header: str) -> Authorization:
    algorithm, _, rest = header.strip().partition(" ")
    if algorithm != ALGORITHM:
        raise incomplete(f"Unsupported AWS 'algorithm': '{algorithm}'")
    fields: dict[str, str] = {}
    for part in rest.split(","):
        key, sep, value = part.strip().partition("=")
        if sep:
            fields[key] = value
    for required in ("Credential", "SignedHeaders", "Signature"):
        if required not in fields:
            raise incomplete(
                f"Authorization header requires '{required}' parameter. Authorization={header}"
            )
    scope = fields["Credential"].split("/")
    if len(scope) != 5 or scope[4] != "aws4_request":
        raise incomplete(f"Credential should be of the form 'KEY/DATE/REGION/SERVICE/"
                         f"aws4_request', not '{fields['Credential']}'")  # fmt: skip
    signed = tuple(fields["SignedHeaders"].split(";"))
    return Authorization(scope[0], scope[1], scope[2], scope[3], signed, fields["Signature"])


def verify(
    request: SignedRequest,
    credentials: Mapping[str, Credential],
    now: datetime,
    skew: timedelta = timedelta(minutes=15),
) -> Credential:
    """The credential that signed ``request``; ApiError when it is not correctly signed by
    a known credential within ``skew`` of ``now`` (UTC)."""
    headers = _joined(request.headers)
    auth = parse_authorization(headers["authorization"])
    if "host" not in auth.signed_headers:
        raise incomplete("'Host' must be a 'SignedHeader' in the AWS Authorization.")
    stamp = headers.get("x-amz-date")
    if stamp is None:
        raise incomplete(
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' "
            "header. Authorization=" + headers["authorization"]
        )
    signed_at = _check_time(stamp, auth.date, now, skew)
    if auth.service != SERVICE:
        raise invalid(f"Credential should be scoped to correct service: '{SERVICE}'. ")
    credential = credentials.get(auth.access_key_id)
    if credential is None:
        raise ApiError(
            "UnrecognizedClientException", "The security token included in the request is invalid."
        )
    expected = signature(credential.secret_access_key, request, auth, signed_at, headers)
    if not hmac.compare_digest(expected, auth.signature):
        raise invalid(MISMATCH)
    return credential


def _check_time(stamp: str, scope_date: str, now: datetime, skew: timedelta) -> datetime:
    try:  # by hand: strptime costs more than the rest of the check together
        if len(stamp) != 16 or stamp[8] != "T" or stamp[15] != "Z":
            raise ValueError(stamp)
        year, month, day = int(stamp[:4]), int(stamp[4:6]), int(stamp[6:8])
        hour, minute, second = int(stamp[9:11]), int(stamp[11:13]), int(stamp[13:15])
        signed_at = datetime(year, month, day, hour, minute, second, tzinfo=now.tzinfo)
    except ValueError:
        raise incomplete(f"Date must be in ISO-8601 'basic format'. Got '{stamp}'.") from None
    if scope_date != stamp[:8]:
        raise invalid(
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date "
            f"from HTTP: '{scope_date}' != '{stamp[:8]}', from '{stamp}'."
        )
    minutes = int(skew.total_seconds() // 60)
    if signed_at < now - skew:
        raise invalid(f"Signature expired: {stamp} is now earlier than "
                      f"{(now - skew).strftime(DATE_FORMAT)} ({now.strftime(DATE_FORMAT)} - "
                      f"{minutes} min.)")  # fmt: skip
    if signed_at > now + skew:
        raise invalid(f"Signature not yet current: {stamp} is still later than "
                      f"{(now + skew).strftime(DATE_FORMAT)} ({now.strftime(DATE_FORMAT)} + "
                      f"{minutes} min.)")  # fmt: skip
    return signed_at


def signature(
    secret: str,
    request: SignedRequest,
    auth: Authorization,
    signed_at: datetime,
    headers: dict[str, str] | None = None,
) -> str:
    canonical = canonical_request(request, auth.signed_headers, headers)
    string_to_sign = "\n".join((
        ALGORITHM, signed_at.strftime(DATE_FORMAT), auth.scope,
        hashlib.sha256(canonical.encode()).hexdigest(),
    ))  # fmt: skip
    key = signing_key(secret, auth.date, auth.region, auth.service)
    return hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()


@functools.lru_cache(maxsize=256)
def signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    """The key of one day, region and service: the same for every request of a client that
    day, so derived once (four HMACs saved per request)."""
    key = ("AWS4" + secret).encode()
    for part in (date, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def canonical_request(
    request: SignedRequest, signed_headers: Sequence[str], headers: dict[str, str] | None = None
) -> str:
    headers = _joined(request.headers) if headers is None else headers
    lines = "".join(f"{name}:{headers.get(name, '')}\n" for name in signed_headers)
    return "\n".join((
        request.method.upper(), _canonical_path(request.path), _canonical_query(request.query),
        lines, ";".join(signed_headers), hashlib.sha256(request.body).hexdigest(),
    ))  # fmt: skip


def _joined(headers: Sequence[tuple[str, str]]) -> dict[str, str]:
    """Header values as SigV4 canonicalises them: spaces trimmed and collapsed, repeated
    headers joined with commas."""
    joined: dict[str, str] = {}
    for name, value in headers:
        value = " ".join(value.split())
        key = name.lower()
        joined[key] = f"{joined[key]},{value}" if key in joined else value
    return joined


def _canonical_path(path: str) -> str:
    # Services other than S3 encode each segment of the (already encoded) path once more.
    return quote(path or "/", safe="/~")


def _canonical_query(query: str) -> str:
    pairs = parse_qsl(query, keep_blank_values=True)
    encoded = sorted((quote(k, safe="-_.~"), quote(v, safe="-_.~")) for k, v in pairs)
    return "&".join(f"{k}={v}" for k, v in encoded)
