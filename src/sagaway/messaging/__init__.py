"""How events leave and arrive: transactional outbox, an EventBridge-style bus with rules and
event patterns, inbox de-duplication, archive and replay, dead-letter queues."""

from sagaway.messaging.bus import EventBus, Rule
from sagaway.messaging.dlq import DeadLetter, DeadLetterQueue
from sagaway.messaging.events import make_event
from sagaway.messaging.inbox import Inbox
from sagaway.messaging.outbox import OutboxRelay, ensure_outbox, write_event
from sagaway.messaging.patterns import PatternError, matches, validate_pattern
from sagaway.messaging.sqlite import connect, transaction
from sagaway.messaging.targets import CallableTarget, StartExecutionTarget, Target, WebhookTarget

__all__ = [
    "CallableTarget",
    "DeadLetter",
    "DeadLetterQueue",
    "EventBus",
    "Inbox",
    "OutboxRelay",
    "PatternError",
    "Rule",
    "StartExecutionTarget",
    "Target",
    "WebhookTarget",
    "connect",
    "ensure_outbox",
    "make_event",
    "matches",
    "transaction",
    "validate_pattern",
    "write_event",
]
