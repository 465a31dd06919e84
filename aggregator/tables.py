"""Every module that declares tables, imported so that migrations and tests see them all."""

from aggregator import models

__all__ = ["models"]
