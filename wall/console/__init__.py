"""The moderation console: staff log in, clear the queue, edit rules, run screens and sources."""
