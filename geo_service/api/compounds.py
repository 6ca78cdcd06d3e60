"""Compound endpoints: assets inside a compound, its summary, nearest features, name search."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
CONFORMANCE: list[str] = []
