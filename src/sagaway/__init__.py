"""Sagaway: a durable saga orchestrator that speaks Amazon States Language."""

__version__ = "0.1.0"

# Before any module is imported: the compiled modules run as Python when their build is out
# of date with their sources (sagaway.native).
from sagaway.native import install_guard as _install_guard

_install_guard()

# --- public API for applications (the shop): messaging, sagas, engine -------------------
# Added by the messaging/saga work (issue 5). Additive: other exports may be added beside it.
from sagaway.asl.validate import validate_definition as validate_definition
from sagaway.engine.engine import Engine as Engine
from sagaway.engine.engine import ExecutionAlreadyExists as ExecutionAlreadyExists
from sagaway.engine.gc_tuning import tune_gc as tune_gc
from sagaway.messaging import CallableTarget as CallableTarget
from sagaway.messaging import DeadLetterQueue as DeadLetterQueue
from sagaway.messaging import EventBus as EventBus
from sagaway.messaging import Inbox as Inbox
from sagaway.messaging import OutboxRelay as OutboxRelay
from sagaway.messaging import Rule as Rule
from sagaway.messaging import StartExecutionTarget as StartExecutionTarget
from sagaway.messaging import WebhookTarget as WebhookTarget
from sagaway.messaging import connect as connect
from sagaway.messaging import ensure_outbox as ensure_outbox
from sagaway.messaging import make_event as make_event
from sagaway.messaging import matches as matches
from sagaway.messaging import transaction as transaction
from sagaway.messaging import write_event as write_event
from sagaway.messaging.archive import Archive as Archive
from sagaway.messaging.dlq import REDRIVE_TYPE as REDRIVE_TYPE
from sagaway.messaging.dlq import ensure_dlq as ensure_dlq
from sagaway.resources.lambda_functions import FunctionRegistry as FunctionRegistry
from sagaway.saga import DeadLetter as DeadLetter
from sagaway.saga import RetryPolicy as RetryPolicy
from sagaway.saga import Saga as Saga
from sagaway.saga import lambda_arn as lambda_arn
from sagaway.store.open import open_journal as open_journal
from sagaway.store.ports import Journal as Journal
from sagaway.store.sqlite import SqliteJournal as SqliteJournal
# --- end of the messaging/saga block ------------------------------------------------------
