"""What a Task calls: Lambda-style Python handlers and, later, other integrations."""
