"""The use cases: plain functions over the ports; no Flask, no database drivers."""
