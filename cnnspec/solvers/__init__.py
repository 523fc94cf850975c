"""Questions asked of a whole graph: which input sizes work (sizes), what changed between two specs (diff)."""
