"""The Step Functions API (AWS JSON 1.0): boto3 and the AWS CLI talk to Sagaway with it."""

from sagaway.api.app import attach_app, create_app
from sagaway.api.credentials import ENV_VAR as CREDENTIALS_ENV
from sagaway.api.credentials import (
    ApiSecurity,
    Credential,
    CredentialsError,
    Role,
    load_credentials,
)
from sagaway.api.credentials import generate as generate_credential

__all__ = [
    "CREDENTIALS_ENV",
    "ApiSecurity",
    "Credential",
    "CredentialsError",
    "Role",
    "attach_app",
    "create_app",
    "generate_credential",
    "load_credentials",
]
