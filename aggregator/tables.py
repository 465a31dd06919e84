"""Every module that declares tables, imported so that migrations and tests see them all."""

from aggregator import models
from aggregator.digest import models as digest_models

__all__ = ["digest_models", "models"]
