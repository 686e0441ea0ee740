"""Mail transports behind ``ports.MailTransport``: ``smtp`` (the standard library's smtplib)."""
