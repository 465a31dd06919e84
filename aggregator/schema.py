"""Every module that declares tables, imported so that migrations and tests see them all."""

from aggregator import accounts, messages, models, slides
from aggregator.digest import models as digest_models
from aggregator.moderation import live_rules

__all__ = ["accounts", "digest_models", "live_rules", "messages", "models", "slides"]
