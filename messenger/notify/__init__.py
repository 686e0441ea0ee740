"""Notifier adapters: ring "user X has updates" doorbells in this process or across processes."""
