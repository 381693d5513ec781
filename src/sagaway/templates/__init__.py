"""Reading SAM / CloudFormation templates: the state machines they declare and the
``${Placeholder}`` substitutions CloudFormation applies to their definitions on deploy."""

from sagaway.templates.cloudformation import TemplateMachine, read_definition, read_template
from sagaway.templates.substitutions import (
    PSEUDO_PARAMETERS,
    load_substitutions,
    substitute,
)

__all__ = [
    "PSEUDO_PARAMETERS",
    "TemplateMachine",
    "load_substitutions",
    "read_definition",
    "read_template",
    "substitute",
]
