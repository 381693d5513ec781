"""One module per ASL state type; each exposes ``enter`` and the hooks its type needs."""
