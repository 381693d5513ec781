"""The Step Functions API (AWS JSON 1.0): boto3 and the AWS CLI talk to Sagaway with it."""

from sagaway.api.app import attach_app, create_app

__all__ = ["attach_app", "create_app"]
