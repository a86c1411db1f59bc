"""The kinds of problem: one module per kind, registered (see docs/develop.md)."""
