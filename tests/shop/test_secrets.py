"""The shop's secrets come from a provider: the environment, a folder of files (refused
when others may read it), or Vault (same interface; see docs/security.md)."""

from __future__ import annotations

from pathlib import Path

import pytest

from shop.intake import dev_token
from shop.secrets import EnvSecrets, FileSecrets, SecretError, secrets_from_environment
from shop.tokens import TokenVerifier

KEY = "a-long-random-intake-signing-key-0123456789"


def test_the_environment_provider_maps_names_to_variables() -> None:
    secrets = EnvSecrets({"SHOP_JWT_KEY": KEY, "SHOP_GATEWAY_API_KEY": "gw"})
    assert (secrets.get("jwt-key"), secrets.get("gateway-api-key")) == (KEY, "gw")
    assert secrets.get("courier-api-key") is None


def test_a_folder_of_secrets_must_be_private(tmp_path: Path) -> None:
    folder = tmp_path / "secrets"
    folder.mkdir()
    (folder / "jwt-key").write_text(KEY + "\n")
    (folder / "jwt-key").chmod(0o600)
    secrets = secrets_from_environment({"SHOP_SECRETS_DIR": str(folder)})
    assert isinstance(secrets, FileSecrets) and secrets.get("jwt-key") == KEY
    assert secrets.get("missing") is None
    (folder / "jwt-key").chmod(0o644)
    with pytest.raises(SecretError, match="readable by others"):
        secrets.get("jwt-key")
    with pytest.raises(SecretError, match="does not exist"):
        FileSecrets(tmp_path / "nowhere")


def test_the_intake_key_comes_from_the_provider(tmp_path: Path) -> None:
    (tmp_path / "jwt-key").write_text(KEY)
    (tmp_path / "jwt-key").chmod(0o600)
    verifier = TokenVerifier(secrets=FileSecrets(tmp_path))
    assert verifier.subject(dev_token("c1", KEY)) == "c1"
    assert isinstance(secrets_from_environment({}), EnvSecrets)  # the default
