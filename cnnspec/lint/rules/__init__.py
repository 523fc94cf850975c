"""The lint rules, one module per group."""
