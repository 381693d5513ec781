"""The SigV4 verifier against botocore's signer, the reference every AWS SDK matches."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from sagaway.api.credentials import Credential, CredentialsError, Role, parse_credentials
from sagaway.api.errors import ApiError
from sagaway.api.sigv4 import SignedRequest, verify

KEYS = {"AKIDFULL": Credential("AKIDFULL", "full-secret", Role.FULL)}
BODY = b'{"maxResults": 10}'


def signed(secret: str = "full-secret", key: str = "AKIDFULL", service: str = "states",
           body: bytes = BODY) -> tuple[SignedRequest, datetime]:  # fmt: skip
    request = AWSRequest(
        "POST", "http://127.0.0.1:8083/", data=body,
        headers={"Content-Type": "application/x-amz-json-1.0",
                 "X-Amz-Target": "AWSStepFunctions.ListStateMachines"},
    )  # fmt: skip
    SigV4Auth(Credentials(key, secret), service, "eu-west-3").add_auth(request)
    stamp = datetime.strptime(request.headers["X-Amz-Date"], "%Y%m%dT%H%M%SZ")
    headers = [(k.lower(), str(v)) for k, v in request.headers.items()]
    headers.append(("host", "127.0.0.1:8083"))
    return SignedRequest("POST", "/", "", headers, BODY), stamp.replace(tzinfo=UTC)


def refused(request: SignedRequest, now: datetime) -> ApiError:
    with pytest.raises(ApiError) as caught:
        verify(request, KEYS, now)
    return caught.value


def test_a_request_botocore_signed_is_accepted_in_any_region() -> None:
    request, at = signed()
    assert verify(request, KEYS, at + timedelta(minutes=3)).access_key_id == "AKIDFULL"


def test_wrong_secret_and_tampered_body_are_invalid_signatures() -> None:
    request, at = signed(secret="guessed")
    assert refused(request, at).code == "InvalidSignatureException"
    good, at = signed()
    tampered = SignedRequest("POST", "/", "", good.headers, b'{"maxResults": 11}')
    assert refused(tampered, at).code == "InvalidSignatureException"


def test_unknown_access_key_is_an_unrecognized_client() -> None:
    request, at = signed(key="AKIDNOBODY")
    error = refused(request, at)
    assert (error.code, error.message) == (
        "UnrecognizedClientException", "The security token included in the request is invalid."
    )


def test_a_signature_older_or_newer_than_fifteen_minutes_has_expired() -> None:
    request, at = signed()
    late = refused(request, at + timedelta(minutes=16))
    assert late.code == "InvalidSignatureException"
    assert late.message.startswith("Signature expired:")
    early = refused(request, at - timedelta(minutes=16))
    assert early.message.startswith("Signature not yet current:")


def test_another_service_scope_and_incomplete_headers_are_refused() -> None:
    request, at = signed(service="lambda")
    assert "correct service: 'states'" in refused(request, at).message
    good, at = signed()
    cut = [(k, v.split(", Signature=")[0]) if k == "authorization" else (k, v)
           for k, v in good.headers]  # fmt: skip
    error = refused(SignedRequest("POST", "/", "", cut, BODY), at)
    assert error.code == "IncompleteSignature"
    assert "requires 'Signature' parameter" in error.message


def test_credentials_text_names_the_bad_line() -> None:
    parsed = parse_credentials("# comment\nAK1 s1\nAK2 s2 read-only\n", "f")
    assert parsed["AK1"].role is Role.FULL and parsed["AK2"].role is Role.READ_ONLY
    with pytest.raises(CredentialsError, match="f:2: role must be"):
        parse_credentials("AK1 s1\nAK2 s2 admin\n", "f")
    assert Role.READ_ONLY.allows("DescribeExecution")
    assert not Role.READ_ONLY.allows("GetActivityTask")
    assert not Role.READ_ONLY.allows("StartExecution")
