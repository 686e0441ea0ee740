"""Notifier adapters: memory.py (one process) and redis.py (across processes), both delivering
through hub.py to this process's inboxes. Their vocabulary is ``messenger.events``; only
``messenger.wiring`` imports from here."""
