"""Step Functions errors in AWS JSON 1.0 shape: HTTP 400 and ``{"__type", "message"}``.

Codes and message wording follow what AWS answers (as the recordings show), so clients that
match on either keep working."""

from __future__ import annotations


class ApiError(Exception):
    def __init__(
        self, code: str, message: str, status: int = 400, fields: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        self.fields = fields or {}  # members the error shape has besides message

    def body(self) -> dict[str, str]:
        return {"__type": self.code, "message": self.message, **self.fields}


def validation(message: str) -> ApiError:
    return ApiError("ValidationException", message)


def machine_missing(arn: str) -> ApiError:
    return ApiError("StateMachineDoesNotExist", f"State Machine Does Not Exist: '{arn}'")


def execution_missing(arn: str) -> ApiError:
    return ApiError("ExecutionDoesNotExist", f"Execution Does Not Exist: '{arn}'")


def activity_missing(arn: str) -> ApiError:
    return ApiError("ActivityDoesNotExist", f"Activity Does Not Exist: '{arn}'")


def resource_missing(arn: str) -> ApiError:
    return ApiError("ResourceNotFound", f"Resource not found: '{arn}'")


def invalid_arn(arn: str) -> ApiError:
    return ApiError("InvalidArn", f"Invalid Arn: 'Resource type not valid in this context: {arn}'")


def invalid_name(name: str) -> ApiError:
    return ApiError("InvalidName", f"Invalid Name: '{name}'")


def conflict(message: str) -> ApiError:
    return ApiError("ConflictException", message)
