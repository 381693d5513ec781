"""How events leave and arrive: transactional outbox, an EventBridge-style bus with rules and
event patterns, inbox de-duplication, archive and replay, dead-letter queues."""

from sagaway.messaging.archive import Archive
from sagaway.messaging.bus import EventBus, Rule
from sagaway.messaging.dlq import DeadLetter, DeadLetterQueue
from sagaway.messaging.events import make_event
from sagaway.messaging.inbox import Inbox
from sagaway.messaging.ledger import BusAccounting, TargetAccount
from sagaway.messaging.outbox import OutboxRelay, ensure_outbox, write_event
from sagaway.messaging.patterns import PatternError, matches, validate_pattern
from sagaway.messaging.sqlite import connect, transaction
from sagaway.messaging.targets import CallableTarget, StartExecutionTarget, Target, WebhookTarget

__all__ = [
    "Archive",
    "BusAccounting",
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
    "TargetAccount",
    "WebhookTarget",
    "connect",
    "ensure_outbox",
    "make_event",
    "matches",
    "transaction",
    "validate_pattern",
    "write_event",
]
