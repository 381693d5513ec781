"""Sagas declared once: steps with compensations and retry policies, compiled to plain ASL."""

from sagaway.saga.builder import DeadLetter, RetryPolicy, Saga, SagaStep, lambda_arn

__all__ = ["DeadLetter", "RetryPolicy", "Saga", "SagaStep", "lambda_arn"]
