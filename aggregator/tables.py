"""Every module that declares tables, imported so that migrations and tests see them all."""

from aggregator import accounts, live_rules, messages, models, slides
from aggregator.digest import models as digest_models

__all__ = ["accounts", "digest_models", "live_rules", "messages", "models", "slides"]
