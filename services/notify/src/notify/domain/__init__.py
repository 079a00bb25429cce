"""Notify's domain: who is told what (rules), when (quiet hours, reminders, backoff), by which channel."""
