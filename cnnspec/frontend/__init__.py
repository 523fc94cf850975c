"""From YAML to a graph: the positioned YAML loader, the expression evaluator, the expander and
its composites, the spec, the JSON schema."""
