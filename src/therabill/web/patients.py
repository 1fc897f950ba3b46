"""The patient ledger's routes (replaced by the ledger's own module when it is merged)."""

from fastapi import APIRouter

router = APIRouter(prefix="/v1/patients", tags=["patients"])
