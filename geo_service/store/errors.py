"""The store's error family; ``status`` is the HTTP status an API maps each to."""

from __future__ import annotations


class StoreError(Exception):
    """Base of the store's errors."""

    status = 500


class NotFound(StoreError):
    status = 404


class Conflict(StoreError):
    status = 409


class Unavailable(StoreError):
    """The backing database cannot be reached; clients should retry (HTTP 503)."""

    status = 503


class PreconditionFailed(StoreError):
    """The feature changed since the client read it (stale If-Match)."""

    status = 412


class InvalidQuery(StoreError, ValueError):
    status = 400


class InvalidFeature(StoreError, ValueError):
    """A feature that breaks its layer spec. ``errors`` lists (field, reason)."""

    status = 422

    def __init__(self, errors: list[tuple[str, str]]):
        self.errors = errors
        super().__init__("; ".join(f"{f}: {r}" for f, r in errors))
