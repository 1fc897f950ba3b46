"""The patients' routes: post checked visits to the ledger, delete them, read a patient's year.

The engine comes from ``request.app.state.engine``; the ledger is opened once per application
from ``request.app.state.settings.database_url`` (None: the SQLite file in the user data
directory) and kept in ``app.state.ledger``. The routes are plain functions: FastAPI runs them
in its thread pool, and the ledger serialises writers per patient itself.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Body, HTTPException, Request, Response, status
from fastapi import Path as PathParam

from therabill.ledger.database import LedgerError, LedgerUnavailable, UnknownVisit
from therabill.ledger.store import DeleteOutcome, Ledger, PostOutcome
from therabill.ledger.year import YearView

router = APIRouter(prefix="/v1/patients", tags=["patients"])

_opening = threading.Lock()

PatientId = Annotated[str, PathParam(min_length=1, max_length=128,
                                     description="The patient's id in the ledger")]
VISIT_EXAMPLE = {
    "visit_id": "v-2001", "date_of_service": "2025-03-03", "payer": "medicare",
    "locality": "01182-18",
    "lines": [{"code": "97110", "minutes": 38}, {"code": "97140", "minutes": 23}],
}


def ledger_of(request: Request) -> Ledger:
    """The application's ledger, opened (and its tables brought up to date) on first use."""
    state = request.app.state
    found: Ledger | None = getattr(state, "ledger", None)
    if found is None:
        with _opening:
            found = getattr(state, "ledger", None)
            if found is None:
                settings = getattr(state, "settings", None)
                url = getattr(settings, "database_url", None)
                try:
                    found = Ledger(url, engine=state.engine)
                except LedgerError as exc:
                    raise _problem(exc) from None
                state.ledger = found
    return found


def _for_known_patient(request: Request, patient_id: str, read: Callable[[Ledger], Any]) -> Any:
    """``read(ledger)`` for a patient the ledger knows; 404 for one it does not."""
    ledger = ledger_of(request)
    try:
        if not ledger.knows(patient_id):
            raise HTTPException(status.HTTP_404_NOT_FOUND,
                                f"the ledger has no visits of patient {patient_id!r}")
        return read(ledger)
    except LedgerError as exc:
        raise _problem(exc) from None


def _problem(exc: LedgerError) -> HTTPException:
    if isinstance(exc, UnknownVisit):
        return HTTPException(status.HTTP_404_NOT_FOUND, str(exc))
    if isinstance(exc, LedgerUnavailable):
        return HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(exc))
    return HTTPException(422, str(exc))


@router.post("/{patient_id}/visits", response_model=PostOutcome,
             status_code=status.HTTP_201_CREATED,
             summary="Check a visit with the patient's year-to-date figures and post it",
             responses={200: {"description": "The visit replaced one posted before"},
                        404: {"description": "Not found"},
                        422: {"description": "The visit cannot be checked or posted"},
                        503: {"description": "The ledger's database is unavailable"}})
def post_visit(
    patient_id: PatientId,
    request: Request,
    response: Response,
    visit: Annotated[dict[str, Any], Body(
        description="A visit in the shape of POST /v1/check (its patient_id, when given, must "
                    "be the one in the path). ytd_threshold_amount and deductible_remaining "
                    "come from the ledger unless the visit gives them.",
        examples=[VISIT_EXAMPLE])],
) -> Any:
    given = visit.get("patient_id")
    if given is not None and given != patient_id:
        raise HTTPException(422,
                            f"patient_id: the visit says {given!r}, the path {patient_id!r}")
    ledger = ledger_of(request)
    try:
        outcome = ledger.check_and_post({**visit, "patient_id": patient_id})
    except LedgerError as exc:
        raise _problem(exc) from None
    if outcome.replaced:
        response.status_code = status.HTTP_200_OK
    return outcome


@router.delete("/{patient_id}/visits/{visit_id}", response_model=DeleteOutcome,
               summary="Remove a posted visit and its amounts",
               responses={404: {"description": "No such posted visit"},
                          503: {"description": "The ledger's database is unavailable"}})
def delete_visit(
    patient_id: PatientId,
    visit_id: Annotated[str, PathParam(min_length=1, max_length=128)],
    request: Request,
) -> Any:
    try:
        return ledger_of(request).delete(patient_id, visit_id)
    except LedgerError as exc:
        raise _problem(exc) from None


@router.get("/{patient_id}/year/{yyyy}", response_model=YearView,
            summary="A patient's calendar year: running KX amounts, KX date, review, deductible",
            responses={404: {"description": "The ledger has no visits of this patient"},
                       503: {"description": "The ledger's database is unavailable"}})
def patient_year(
    patient_id: PatientId,
    yyyy: Annotated[int, PathParam(ge=1900, le=9999, description="Calendar year")],
    request: Request,
) -> Any:
    return _for_known_patient(request, patient_id, lambda ledger: ledger.year(patient_id, yyyy))


@router.post("/{patient_id}/year/{yyyy}/recheck", response_model=list[PostOutcome],
             summary="Check again the visits whose year-to-date figures changed, in date order",
             responses={404: {"description": "The ledger has no visits of this patient"},
                        422: {"description": "A visit can no longer be checked or posted"},
                        503: {"description": "The ledger's database is unavailable"}})
def recheck_year(
    patient_id: PatientId,
    yyyy: Annotated[int, PathParam(ge=1900, le=9999, description="Calendar year")],
    request: Request,
) -> Any:
    return _for_known_patient(request, patient_id,
                              lambda ledger: ledger.recheck(patient_id, yyyy))
