"""The JSON API under ``/v1``: check visits, the coding guide, the data held, localities.

Handlers stay thin: they read the request, call the engine or the guide's data functions, and
shape the answer. Questions the data cannot answer become problem details naming the parameter
(see ``therabill.web.problems``); a bad visit is not an error but a result with ``input``
findings, exactly as on the command line.
"""

from __future__ import annotations

import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator
from datetime import date
from pathlib import Path as FilePath
from typing import Annotated, Any, Literal, Protocol, TypeVar

import orjson
from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from therabill import __version__
from therabill.decision import decide
from therabill.engine import Engine
from therabill.guide.compare import Comparison, compare_codes
from therabill.guide.explain import CodeExplanation, explain_code
from therabill.guide.facts import (
    NATIONAL,
    GuideError,
    day_terms,
    parse_code,
    resolve_payer,
    rvu_release_for,
)
from therabill.guide.history import History, code_history
from therabill.guide.suggest import Suggestion, suggest
from therabill.interchange import read_visits
from therabill.model import RESULT_ADAPTER, CheckResult
from therabill.reference.info import info_json
from therabill.reference.store import ReferenceData
from therabill.web.csv_visits import CsvError, read_csv_visits
from therabill.web.localities import crosswalk_year, search_localities
from therabill.web.middleware import THREAD_ABOVE_BYTES
from therabill.web.problems import Problem

router = APIRouter(prefix="/v1")
T = TypeVar("T")
Detail = Literal["full", "lines", "totals"]
JSON = "application/json"
JSON_LINES = "application/x-ndjson"
JSON_LINES_TYPES = frozenset({JSON_LINES, "application/jsonl", "application/x-jsonlines",
                              "application/json-seq", "application/jsonlines"})
CSV_TYPES = frozenset({"text/csv", "application/csv"})
DEFAULT_HISTORY = ("97124", "97140")  # massage against manual therapy
DETAIL_HELP = ("full: every line with its decisions, the findings and the data used; lines: "
               "the claim lines without their decisions, with totals and findings; totals: "
               "the visit's totals and how many findings of each severity")
CSV_SOURCE = "therabill CSV upload"


# ------------------------------------------------------------------------------- shared
class Checker(Protocol):
    """What checks visits for the API: the engine, or the engine with the ledger's figures
    (``therabill.ledger.checking.LedgerChecker``, when a database is configured)."""

    def check(self, visit: Any) -> CheckResult: ...


def checker_of(request: Request) -> Checker:
    checker: Checker = request.app.state.checker
    return checker


def engine_of(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


def reference_of(request: Request) -> ReferenceData:
    return engine_of(request).reference


def check_code(text: str, reference: ReferenceData, field: str, status: int = 422) -> str:
    try:
        return parse_code(text, reference)
    except GuideError as exc:
        unknown = str(exc).startswith("unknown code")
        raise Problem(status if unknown else 422, str(exc), field=field) from None


def check_terms(reference: ReferenceData, day: date | None, locality: str | None,
                payer: str | None) -> date:
    """Validate the shared guide parameters one by one, so an error names its parameter."""
    day = day or date.today()
    if payer is not None:
        try:
            resolve_payer(payer)
        except GuideError as exc:
            raise Problem(422, str(exc), field="payer") from None
    try:
        rvu_release_for(reference, day)
    except GuideError as exc:
        raise Problem(422, str(exc), field="date") from None
    if locality is not None:
        try:
            day_terms(reference, day, locality)
        except GuideError as exc:
            raise Problem(422, str(exc), field="locality") from None
    return day


def answer(field: str, build: Callable[[], T]) -> T:
    try:
        return build()
    except GuideError as exc:
        raise Problem(422, str(exc), field=field) from None


def codes_list(values: Iterable[str]) -> list[str]:
    """``codes=97124&codes=97140`` and ``codes=97124,97140`` both give two codes."""
    return [part for value in values for part in value.replace(",", " ").split()]


# -------------------------------------------------------------------------------- check
def shape(result: CheckResult, detail: Detail) -> dict[str, Any]:
    """One result as JSON data, at the detail asked for. Fields are taken by name, so fields
    added to the result types later pass through ``full`` and ``lines`` unchanged."""
    data: dict[str, Any] = RESULT_ADAPTER.dump_python(result, mode="json")
    if detail == "full":
        return data
    if detail == "lines":
        data.pop("data", None)
        data["lines"] = [{k: v for k, v in line.items() if k != "steps"}
                         for line in data.get("lines", ())]
        return data
    counts = {"error": 0, "warning": 0, "info": 0}
    for finding in data.get("findings", ()):
        counts[finding["severity"]] = counts.get(finding["severity"], 0) + 1
    keep = ("visit_id", "patient_id", "date_of_service", "payer", "totals")
    return {**{k: data[k] for k in keep if k in data}, "findings": counts}


def encode(result: CheckResult, detail: Detail) -> bytes:
    if detail == "full":
        return RESULT_ADAPTER.dump_json(result)
    return orjson.dumps(shape(result, detail))


def _bad_item(where: str, problem: str) -> CheckResult:
    from therabill.model import DataUsed, Totals

    return CheckResult(visit_id="", patient_id=None, date_of_service=None, payer="",
                       unit_method=None, lines=[], totals=Totals(),
                       findings=[decide("input", f"{where}: {problem}", "therabill visit format",
                                        "error")], data=DataUsed())


def check_item(engine: Checker, item: Any, where: str) -> CheckResult:
    if isinstance(item, CheckResult):
        return item
    if not isinstance(item, dict):
        return _bad_item(where, "a visit must be a JSON object")
    return engine.check(item)


def _media_type(request: Request) -> str:
    return request.headers.get("content-type", JSON).split(";", 1)[0].strip().lower() or JSON


def _text(body: bytes) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Problem(400, f"the body is not UTF-8 text (byte {exc.start})",
                      field="body") from None


def _stream(results: Iterator[bytes]) -> StreamingResponse:
    return StreamingResponse((line + b"\n" for line in results), media_type=JSON_LINES)


def stream_json_lines(engine: Checker, text: str, detail: Detail) -> Iterator[bytes]:
    batch = read_visits(text)
    if batch.unreadable:
        raise Problem(422, f"the JSON Lines body cannot be read: {batch.unreadable}",
                      field="body")
    return (encode(check_item(engine, item, f"line {n}"), detail)
            for n, item in enumerate(batch.items, start=1))


def check_csv_visit(engine: Checker, visit: Any) -> CheckResult:
    result = engine.check(visit.visit)
    rows = visit.rows
    where = f"CSV rows {rows[0]}–{rows[-1]}" if len(rows) > 1 else f"CSV row {rows[0]}"
    result.findings.extend(decide("input", problem, f"{CSV_SOURCE} ({where})", "warning")
                           for problem in visit.problems)
    return result


def stream_csv(engine: Checker, text: str, detail: Detail) -> Iterator[bytes]:
    try:
        visits = read_csv_visits(text)
    except CsvError as exc:
        raise Problem(422, f"the CSV body cannot be read: {exc}", field="body") from None
    return (encode(check_csv_visit(engine, visit), detail) for visit in visits)


def upload_kind(filename: str, content_type: str) -> str:
    name = filename.lower()
    if name.endswith(".csv") or content_type in CSV_TYPES:
        return "csv"
    return "jsonl"


def _visit_schema() -> dict[str, Any]:
    return {"oneOf": [{"$ref": "#/components/schemas/Visit"},
                      {"type": "array", "items": {"$ref": "#/components/schemas/Visit"}}]}


CHECK_OPENAPI: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "One visit (a JSON object), a JSON array of visits (up to the service's "
                       "max_visits, 1,000 by default), JSON Lines, or CSV with one row per "
                       "service line grouped by visit_id. JSON Lines and CSV are answered as "
                       "JSON Lines, one result a visit, streamed as they are checked.",
        "content": {
            JSON: {"schema": _visit_schema()},
            JSON_LINES: {"schema": {"type": "string"}},
            "text/csv": {"schema": {"type": "string"}},
        },
    },
}
CHECK_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "One result (object body), an array of results (array body), or "
                         "JSON Lines of results (JSON Lines or CSV body)",
          "content": {JSON: {"schema": {"oneOf": [
              {"$ref": "#/components/schemas/CheckResult"},
              {"type": "array", "items": {"$ref": "#/components/schemas/CheckResult"}}]}},
              JSON_LINES: {"schema": {"type": "string"}}}},
    400: {"description": "The body is not JSON or not UTF-8 (problem details)"},
    413: {"description": "The body is larger than the limit (problem details)"},
    415: {"description": "A content type the endpoint does not read (problem details)"},
    422: {"description": "The body cannot be read as visits (problem details)"},
}


@router.post("/check", tags=["check"], openapi_extra=CHECK_OPENAPI, responses=CHECK_RESPONSES,
             summary="Check visits: claim lines, units, modifiers, edits and payment")
async def check(request: Request,
                detail: Annotated[Detail, Query(description=DETAIL_HELP)] = "full"
                ) -> Response:
    engine = checker_of(request)
    media = _media_type(request)
    if media == "multipart/form-data":
        form = await request.form()
        upload = form.get("file")
        if upload is None or isinstance(upload, str):
            raise Problem(422, "the form has no file field named 'file'", field="file")
        text = _text(await upload.read())
        kind = upload_kind(upload.filename or "", (upload.content_type or "").lower())
        if kind == "csv":
            return _stream(stream_csv(engine, text, detail))
        return _stream(stream_json_lines(engine, text, detail))
    body = await request.body()
    if media in CSV_TYPES:
        return _stream(stream_csv(engine, _text(body), detail))
    if media in JSON_LINES_TYPES:
        return _stream(stream_json_lines(engine, _text(body), detail))
    if media != JSON and not media.endswith("+json"):
        raise Problem(415, f"content type {media!r} is not read here: send application/json, "
                           f"{JSON_LINES} or text/csv", field="content-type")
    max_visits = request.app.state.settings.max_visits
    if len(body) < THREAD_ABOVE_BYTES:
        body_out = check_json(engine, body, detail, max_visits)
    else:
        body_out = await run_in_threadpool(check_json, engine, body, detail, max_visits)
    return Response(body_out, media_type=JSON)


def check_json(engine: Checker, body: bytes, detail: Detail, max_visits: int) -> bytes:
    """Check a JSON body (one visit or an array of them) and return the JSON answer; raises
    Problem for a body that is not a visit or an array of visits. ``therabill.web.middleware``
    calls this directly for plain JSON requests, the hot path of the service."""
    if not body.strip():
        raise Problem(422, "the body is empty: send a visit object or an array of visits",
                      field="body")
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise Problem(400, f"the body is not valid JSON (line {exc.lineno}, column "
                           f"{exc.colno}): {exc.msg}", field="body") from None
    if isinstance(data, dict):
        return encode(engine.check(data), detail)
    if isinstance(data, list):
        if len(data) > max_visits:
            raise Problem(422, f"the array holds {len(data)} visits; the limit is {max_visits} "
                               "a request (send JSON Lines or CSV, or split the array)",
                          field="body")
        parts = [encode(check_item(engine, item, f"item {n}"), detail)
                 for n, item in enumerate(data)]
        return b"[" + b",".join(parts) + b"]"
    raise Problem(422, "the body must be a visit object or an array of visits", field="body")


# -------------------------------------------------------------------------------- guide
DateQuery = Annotated[date | None, Query(description="Date of service (default: today)")]
LocalityQuery = Annotated[str, Query(max_length=40, description="Medicare locality "
                                     "MMMMM-LL, e.g. 01182-18, or national")]
PayerQuery = Annotated[str, Query(max_length=80, description="Payer policy id")]


@router.get("/codes/{code}", tags=["guide"], response_model=CodeExplanation,
            summary="Explain a code: what it is, who may furnish it, what it pays, its edits")
def explain(request: Request,
            code: Annotated[str, Path(max_length=20, description="e.g. 97124")],
            date: DateQuery = None, locality: LocalityQuery = NATIONAL,
            payer: PayerQuery = "medicare") -> CodeExplanation:
    reference = reference_of(request)
    code = check_code(code, reference, "code", status=404)
    day = check_terms(reference, date, locality, payer)
    return answer("code", lambda: explain_code(code, day, locality, payer, reference))


@router.get("/compare", tags=["guide"], response_model=Comparison,
            summary="Compare codes: payment, what drives the gap, billed together?")
def compare(request: Request,
            codes: Annotated[list[str], Query(description="Two or more codes (repeat the "
                                              "parameter or separate with commas)")],
            date: DateQuery = None, locality: LocalityQuery = NATIONAL,
            payer: PayerQuery = "medicare") -> Comparison:
    reference = reference_of(request)
    parsed = [check_code(code, reference, "codes") for code in codes_list(codes)]
    if len(set(parsed)) < 2:
        raise Problem(422, "compare needs at least two different codes", field="codes")
    day = check_terms(reference, date, locality, payer)
    return answer("codes", lambda: compare_codes(parsed, day, locality, payer, reference))


_CHART_LOCK = threading.Lock()
CHART_TYPES = {"png": "image/png", "svg": "image/svg+xml"}


CHART_CACHE_SIZE = 64


def history_chart(request: Request, codes: tuple[str, ...], first: int | None,
                  last: int | None, locality: str, kind: str) -> bytes:
    """The chart as bytes, drawn once per question and process (a small bounded cache)."""
    from therabill.cli_views.plot import plot_history

    cache: dict[tuple[Any, ...], bytes] = request.app.state.charts
    key = (codes, first, last, locality, kind)
    found = cache.get(key)
    if found is not None:
        return found
    reference = reference_of(request)
    history = code_history(list(codes), first, last, locality, reference)
    with _CHART_LOCK, tempfile.TemporaryDirectory(prefix="therabill-chart-") as folder:
        path = plot_history(history, FilePath(folder) / f"history.{kind}", reference.catalogue)
        chart = path.read_bytes()
    if len(cache) >= CHART_CACHE_SIZE:
        cache.pop(next(iter(cache)))
    cache[key] = chart
    return chart


@router.get("/history", tags=["guide"], response_model=History,
            responses={200: {"content": {"image/png": {}, "image/svg+xml": {}}}},
            summary="Payment per RVU release and conversion-factor change (JSON or a chart)")
def history(request: Request,
            codes: Annotated[list[str] | None, Query(
                description="Codes (default: 97124 and 97140, massage against manual therapy)"
            )] = None,
            from_year: Annotated[int | None, Query(alias="from", ge=1900, le=2100)] = None,
            to_year: Annotated[int | None, Query(alias="to", ge=1900, le=2100)] = None,
            locality: LocalityQuery = NATIONAL,
            format: Annotated[Literal["json", "png", "svg"], Query(
                description="json, or the chart as png or svg")] = "json",
            ) -> Any:
    reference = reference_of(request)
    parsed = [check_code(code, reference, "codes")
              for code in codes_list(codes or DEFAULT_HISTORY)]
    if not parsed:
        raise Problem(422, "history needs at least one code", field="codes")
    parsed = list(dict.fromkeys(parsed))
    result = answer("from" if from_year is not None else "locality",
                    lambda: code_history(parsed, from_year, to_year, locality, reference))
    if format == "json":
        return result
    chart = answer("codes", lambda: history_chart(request, tuple(parsed), from_year, to_year,
                                                  locality, format))
    return Response(chart, media_type=CHART_TYPES[format],
                    headers={"cache-control": "private, max-age=3600"})


class Suggestions(BaseModel):
    text: str
    suggestions: list[Suggestion]


@router.get("/suggest", tags=["guide"], response_model=Suggestions,
            summary="Candidate codes for the techniques a note documents, with the reasons")
def suggest_codes(q: Annotated[str, Query(min_length=1, max_length=2000,
                                          description="Words from the visit note")]
                  ) -> Suggestions:
    return Suggestions(text=q, suggestions=suggest(q))


@router.get("/data", tags=["data"],
            summary="Reference releases held, the dates they cover, their sources; parameters")
def data(request: Request) -> dict[str, Any]:
    return {"version": __version__, **info_json(reference_of(request))}


class LocalityOut(BaseModel):
    locality: str
    name: str
    state: str
    fee_schedule_area: str
    counties: str
    year: int


class LocalityMatches(BaseModel):
    query: str
    year: int
    localities: list[LocalityOut]


@router.get("/localities", tags=["data"], response_model=LocalityMatches,
            summary="Find a Medicare locality by state, county or city name")
def localities(request: Request,
               q: Annotated[str, Query(min_length=1, max_length=100,
                                       description="State (name or postal code), county or "
                                                   "city words, or a locality id")],
               year: Annotated[int | None, Query(ge=1900, le=2100, description=(
                   "Crosswalk year (default: this year's, or the newest held)"))] = None,
               limit: Annotated[int, Query(ge=1, le=200)] = 50) -> LocalityMatches:
    reference = reference_of(request)
    chosen = crosswalk_year(reference, year)
    if chosen is None:
        held = ", ".join(str(y) for y in sorted(reference.localities)) or "none"
        raise Problem(422, f"no locality crosswalk is held for {year}; held: {held}",
                      field="year")
    found = search_localities(reference, q, chosen, limit)
    return LocalityMatches(query=q, year=chosen, localities=[
        LocalityOut(locality=e.locality, name=e.name, state=e.state,
                    fee_schedule_area=e.fee_schedule_area, counties=e.counties, year=e.year)
        for e in found])
