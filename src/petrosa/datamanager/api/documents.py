"""Generic document collections (being built)."""

from fastapi import APIRouter

router = APIRouter(tags=["documents"])
