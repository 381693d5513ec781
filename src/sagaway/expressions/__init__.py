"""Pure evaluators for ASL expressions: JSONPath, payload templates, intrinsics, JSONata."""
