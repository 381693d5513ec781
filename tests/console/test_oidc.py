"""Console sign-in with OpenID Connect against a real provider started locally: the
authorization code flow with PKCE, roles from a claim, and what is refused."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from sagaway.console import ConsoleSettings
from tests.console.kit import WAIT_DEFINITION, ConsoleServer, csrf
from tests.console.oidc_kit import add_user, authorize, provider

# The provider (0.3, the newest available here) calls Authlib server APIs that Authlib now
# deprecates; those warnings are raised in the provider's thread, not by Sagaway.
pytestmark = [
    pytest.mark.filterwarnings("ignore:get_jwt_config:DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:authlib.jose module is deprecated:DeprecationWarning"),
]


def _sign_in(server: ConsoleServer, sub: str) -> tuple[httpx.Client, str]:
    http = server.http(follow_redirects=False)
    start = http.get("/console/signin/oidc", params={"next": "/console/executions"})
    assert start.status_code == 303
    url = start.headers["location"]
    query = parse_qs(urlsplit(url).query)
    assert query["code_challenge_method"] == ["S256"] and len(query["code_challenge"][0]) >= 43
    assert query["client_id"] == ["console-test"] and "nonce" in query
    callback = authorize(url, sub)
    assert callback.startswith(server.url + "/console/callback")
    return http, callback


def test_a_viewer_signs_in_sees_pages_and_cannot_act(tmp_path: Path) -> None:
    with provider() as issuer:
        add_user(issuer, "vera@example.com", ["viewer"])
        settings = ConsoleSettings(issuer=issuer, client_id="console-test", client_secret="s3")
        with ConsoleServer(f"sqlite:///{tmp_path / 'j.db'}", settings) as server:
            assert server.console.local is None  # an issuer replaces the local link
            machine = server.saga("waiting", WAIT_DEFINITION)
            arn = server.sfn.start_execution(stateMachineArn=machine, name="w")["executionArn"]
            http, callback = _sign_in(server, "vera@example.com")
            done = http.get(callback)
            assert done.status_code == 303 and done.headers["location"] == "/console/executions"
            page = http.get("/console/execution", params={"arn": arn}).text
            assert "vera@example.com · viewer" in page and 'id="stop"' not in page
            forged = http.post(
                "/console/execution/stop", data={"arn": arn, "csrf_token": csrf(page)}
            )
            assert forged.status_code == 403 and "operator role" in forged.text
            assert server.sfn.describe_execution(executionArn=arn)["status"] == "RUNNING"
            replayed = http.get(callback)
            assert replayed.status_code in (400, 403)


def test_an_operator_claim_grants_actions_and_no_role_grants_nothing(tmp_path: Path) -> None:
    with provider() as issuer:
        add_user(issuer, "otto@example.com", ["operator"])
        add_user(issuer, "nobody@example.com", ["intern"])
        settings = ConsoleSettings(issuer=issuer, client_id="console-test", client_secret="s3")
        with ConsoleServer(f"sqlite:///{tmp_path / 'j.db'}", settings) as server:
            http, callback = _sign_in(server, "otto@example.com")
            assert http.get(callback).status_code == 303
            page = http.get("/console/executions").text
            assert "otto@example.com · operator" in page
            other, callback = _sign_in(server, "nobody@example.com")
            refused = other.get(callback)
            assert refused.status_code == 403 and "grants no role" in refused.text


def test_a_code_delivered_to_another_browser_does_not_sign_it_in(tmp_path: Path) -> None:
    with provider() as issuer:
        add_user(issuer, "otto@example.com", ["operator"])
        settings = ConsoleSettings(issuer=issuer, client_id="console-test", client_secret="s3")
        with ConsoleServer(f"sqlite:///{tmp_path / 'j.db'}", settings) as server:
            _, callback = _sign_in(server, "otto@example.com")
            stranger = server.http(follow_redirects=False)
            answer = stranger.get(callback)
            assert answer.status_code == 400
            assert "sagaway_console=" not in answer.headers.get("set-cookie", "")
