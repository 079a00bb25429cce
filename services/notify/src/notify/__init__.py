"""Notify: reminders to drivers on the road, never lost, never doubled."""
