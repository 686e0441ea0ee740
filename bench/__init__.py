"""``make bench``: a load generator and scenarios that measure the messenger on one gunicorn worker."""
