"""Analyses over HTTP: GET /analysis/{name} (GeoJSON, or f=csv), cached until the data changes."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
CONFORMANCE: list[str] = []
