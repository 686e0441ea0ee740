"""Entry points: HTTP routes, the /actions dispatcher, docs and operations endpoints."""
