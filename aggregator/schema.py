"""Every module that declares tables, imported so that migrations and tests see them all."""

from aggregator import accounts, logins, messages, models, slides
from aggregator.digest import models as digest_models
from aggregator.moderation import live_rules, undo

__all__ = [
    "accounts",
    "digest_models",
    "live_rules",
    "logins",
    "messages",
    "models",
    "slides",
    "undo",
]
