"""Klines, trades and funding rates (being built)."""

from fastapi import APIRouter

router = APIRouter(tags=["market data"])
