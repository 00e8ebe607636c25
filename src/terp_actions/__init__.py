"""terp-actions: from a merged pull request to a verified App Platform deploy."""

__version__ = "0.1.0"
