"""OGC API - Features Part 4: create, replace, update, delete items (API-key roles, audit, If-Match)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
CONFORMANCE: list[str] = []
