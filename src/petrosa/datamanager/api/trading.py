"""Positions, daily P&L and configuration (being built)."""

from fastapi import APIRouter

router = APIRouter(tags=["trading"])
