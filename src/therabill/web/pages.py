"""The billers' web page: server-rendered with Jinja2, a little plain JavaScript, no CDN.

Every page works without JavaScript (plain forms, answers rendered on the server); the script
only adds line rows and shows a code's summary as it is typed. The pages call the same engine
and guide functions as the API, and read result fields by name, so new fields do not break them.
"""

from __future__ import annotations

import base64
import hmac
import secrets
from collections import Counter
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.datastructures import FormData, UploadFile

from therabill.guide.compare import compare_codes
from therabill.guide.explain import explain_code
from therabill.guide.facts import NATIONAL, GuideError
from therabill.guide.history import code_history
from therabill.guide.suggest import suggest
from therabill.model import RESULT_ADAPTER, CheckResult
from therabill.web.api import (
    CSV_TYPES,
    DEFAULT_HISTORY,
    Detail,
    check_csv_visit,
    checker_of,
    codes_list,
    engine_of,
    shape,
)
from therabill.web.csv_visits import CsvError, read_csv_visits
from therabill.web.localities import all_localities, crosswalk_year
from therabill.web.middleware import KEY_COOKIE

TEMPLATES = Jinja2Templates(directory=Path(__file__).resolve().parent / "templates")
router = APIRouter(include_in_schema=False)
PERFORMERS = ("therapist", "physician", "massage_therapist", "aide", "athletic_trainer")
DISCIPLINES = ("PT", "OT", "SLP")
PROVIDER_TYPES = ("private_practice", "physician_office", "hospital_outpatient", "snf",
                  "rehab_agency", "corf", "hha", "cah")
LINE_FIELDS = ("code", "minutes", "assistant_minutes", "modifiers", "performed_by",
               "line_discipline")
BLANK_ROWS = 3
# Money on a claim line, in the order a biller reads it; fields not (yet) in a result are skipped.
LINE_MONEY = (("charge", "charge"), ("fee_schedule_amount", "fee schedule"),
              ("mppr_reduction", "MPPR reduction"), ("assistant_reduction", "CQ/CO reduction"),
              ("allowed", "allowed"), ("deductible", "deductible"),
              ("coinsurance", "coinsurance"), ("sequestration", "sequestration"),
              ("reductions", "reductions"), ("payer_paid", "payer pays"),
              ("patient_owes", "patient owes"), ("threshold_amount", "counts toward KX"))


# The pages load only their own script, style and images (the chart); nothing else runs.
PAGE_POLICY = ("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
               "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")


def _page(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    engine = engine_of(request)
    context.setdefault("title", "therabill")
    response = TEMPLATES.TemplateResponse(request, template, {
        "payers": sorted(engine.policies), "codes": _code_summaries(request), **context},
        status_code=status)
    response.headers["content-security-policy"] = PAGE_POLICY
    return response


def _code_summaries(request: Request) -> dict[str, str]:
    found: dict[str, str] | None = getattr(request.app.state, "code_summaries", None)
    if found is None:
        catalogue = engine_of(request).reference.catalogue
        found = {code: catalogue.get(code).summary  # type: ignore[union-attr]
                 for code in catalogue.codes()}
        request.app.state.code_summaries = found
    return found


def _localities(request: Request, day: date | None = None) -> list[Any]:
    reference = engine_of(request).reference
    year = crosswalk_year(reference, day.year if day else None) or crosswalk_year(reference)
    return all_localities(reference, year) if year is not None else []


def _day(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


# ------------------------------------------------------------------------ visit check
def visit_from_form(form: FormData) -> tuple[dict[str, Any], list[dict[str, str]]]:
    """The visit dict the engine checks, and the rows as entered (to show the form again).

    Blank fields are left out so the engine's defaults apply; what is typed goes to the engine
    as typed, so a wrong value comes back as an ``input`` finding naming the field."""
    def text(name: str) -> str:
        value = form.get(name)
        return value.strip() if isinstance(value, str) else ""

    visit: dict[str, Any] = {}
    for name in ("visit_id", "patient_id", "date_of_service", "payer", "locality", "discipline",
                 "provider_type", "deductible_remaining"):
        if value := text(name):
            visit[name] = value
    ytd = {key: value for key, name in (("pt_slp", "ytd_pt_slp"), ("ot", "ytd_ot"))
           if (value := text(name))}
    if ytd:
        visit["ytd_threshold_amount"] = ytd
    columns = {name: [v.strip() if isinstance(v, str) else "" for v in form.getlist(name)]
               for name in LINE_FIELDS}
    count = max((len(values) for values in columns.values()), default=0)
    rows = [{name: values[i] if i < len(values) else "" for name, values in columns.items()}
            for i in range(count)]
    lines = []
    for row in rows:
        if not row["code"]:
            continue
        line: dict[str, Any] = {"code": row["code"]}
        for name in ("minutes", "assistant_minutes", "performed_by"):
            if row[name]:
                line[name] = row[name]
        if row["line_discipline"]:
            line["discipline"] = row["line_discipline"]
        if row["modifiers"]:
            line["modifiers"] = row["modifiers"].replace(",", " ").split()
        lines.append(line)
    visit["lines"] = lines
    return visit, [row for row in rows if any(row.values())]


def _default_form() -> dict[str, Any]:
    return {"visit_id": f"web-{secrets.token_hex(3)}", "date_of_service": date.today().isoformat(),
            "payer": "medicare", "locality": NATIONAL, "discipline": "PT",
            "provider_type": "private_practice"}


def _money(value: Any) -> str:
    if value is None or value == "":
        return ""
    try:
        return f"${Decimal(str(value)):,.2f}"
    except InvalidOperation:
        return str(value)


TEMPLATES.env.filters["money"] = _money


def result_view(result: CheckResult) -> dict[str, Any]:
    data: dict[str, Any] = RESULT_ADAPTER.dump_python(result, mode="json")
    for line in data.get("lines", ()):
        line["money"] = [(label, _money(line.get(key))) for key, label in LINE_MONEY
                         if line.get(key) is not None]
    findings = data.get("findings", ())
    data["threshold"] = [f for f in findings if str(f.get("rule", "")).startswith("threshold.")]
    data["other_findings"] = [f for f in findings if f not in data["threshold"]]
    data["total_money"] = [(label, _money(value)) for key, value in data.get("totals", {}).items()
                           if key != "units" and value is not None
                           for label in [key.replace("_", " ")]]
    return data


@router.get("/", response_class=HTMLResponse)
def check_page(request: Request) -> HTMLResponse:
    return _page(request, "check.html", title="Check a visit", form=_default_form(),
                 rows=[{}] * BLANK_ROWS, result=None,
                 localities=_localities(request), **_choices())


@router.post("/check", response_class=HTMLResponse)
async def check_visit(request: Request) -> HTMLResponse:
    form = await request.form()
    visit, rows = visit_from_form(form)
    result = checker_of(request).check(visit)
    shown = {k: v for k, v in visit.items() if isinstance(v, str)}
    for name in ("ytd_pt_slp", "ytd_ot"):
        value = form.get(name)
        shown[name] = value if isinstance(value, str) else ""
    return _page(request, "check.html", title="Check a visit", form=shown,
                 rows=rows + [{}] * max(1, BLANK_ROWS - len(rows)),
                 result=result_view(result),
                 localities=_localities(request, _day(shown.get("date_of_service"))),
                 **_choices())


def _choices() -> dict[str, Any]:
    return {"performers": PERFORMERS, "disciplines": DISCIPLINES,
            "provider_types": PROVIDER_TYPES}


# ------------------------------------------------------------------------ coding guide
def _guide_terms(request: Request) -> tuple[str | None, date, str, str, str | None]:
    params = request.query_params
    problem = None
    day = date.today()
    if params.get("date"):
        parsed = _day(params.get("date"))
        if parsed is None:
            problem = f"date must be YYYY-MM-DD, not {params.get('date')!r}"
        else:
            day = parsed
    locality = (params.get("locality") or NATIONAL).strip()
    payer = (params.get("payer") or "medicare").strip()
    return params.get("date"), day, locality, payer, problem


@router.get("/guide/explain", response_class=HTMLResponse)
def explain_page(request: Request, code: str = "97124") -> HTMLResponse:
    raw_date, day, locality, payer, problem = _guide_terms(request)
    answer = None
    if problem is None:
        try:
            answer = explain_code(code, day, locality, payer, engine_of(request).reference)
        except GuideError as exc:
            problem = str(exc)
    return _page(request, "explain.html", status=200 if problem is None else 422,
                 title=f"Explain {code}", code=code, date=raw_date or "", locality=locality,
                 payer=payer, answer=answer.model_dump(mode="json") if answer else None,
                 problem=problem, localities=_localities(request, day))


@router.get("/guide/compare", response_class=HTMLResponse)
def compare_page(request: Request) -> HTMLResponse:
    raw_date, day, locality, payer, problem = _guide_terms(request)
    codes = codes_list(request.query_params.getlist("codes")) or list(DEFAULT_HISTORY)
    answer = None
    if problem is None:
        try:
            answer = compare_codes(codes, day, locality, payer, engine_of(request).reference)
        except GuideError as exc:
            problem = str(exc)
    slots = codes + [""] * max(0, 3 - len(codes))
    return _page(request, "compare.html", status=200 if problem is None else 422,
                 title="Compare codes", slots=slots, date=raw_date or "", locality=locality,
                 payer=payer, answer=answer.model_dump(mode="json") if answer else None,
                 problem=problem, localities=_localities(request, day))


@router.get("/guide/history", response_class=HTMLResponse)
def history_page(request: Request) -> HTMLResponse:
    params = request.query_params
    codes = codes_list(params.getlist("codes")) or list(DEFAULT_HISTORY)
    locality = (params.get("locality") or NATIONAL).strip()
    years: dict[str, int | None] = {}
    problem = None
    for name in ("from", "to"):
        value = params.get(name) or ""
        years[name] = int(value) if value.isdigit() else None
        if value and not value.isdigit():
            problem = f"{name} must be a year such as 2017, not {value!r}"
    answer = None
    if problem is None:
        try:
            answer = code_history(codes, years["from"], years["to"], locality,
                                  engine_of(request).reference)
        except GuideError as exc:
            problem = str(exc)
    query = [("codes", c) for c in (answer.codes if answer else codes)]
    query += [(k, str(v)) for k, v in years.items() if v is not None]
    query += [("locality", locality), ("format", "svg")]
    slots = codes + [""] * max(0, 3 - len(codes))
    return _page(request, "history.html", status=200 if problem is None else 422,
                 title="Payment history", slots=slots, locality=locality,
                 from_year=params.get("from") or "", to_year=params.get("to") or "",
                 answer=answer.model_dump(mode="json") if answer else None, problem=problem,
                 chart_url="/v1/history?" + urlencode(query))


@router.get("/guide/suggest", response_class=HTMLResponse)
def suggest_page(request: Request, q: str = "") -> HTMLResponse:
    found = [s.model_dump(mode="json") for s in suggest(q)] if q.strip() else None
    return _page(request, "suggest.html", title="Technique to code", q=q, found=found)


# ------------------------------------------------------------------------------ upload
@router.get("/upload", response_class=HTMLResponse)
def upload_page(request: Request) -> HTMLResponse:
    return _page(request, "upload.html", title="Upload visits", summary=None, problem=None)


def summarise(results: list[CheckResult]) -> dict[str, Any]:
    statuses: Counter[str] = Counter()
    rules: Counter[str] = Counter()
    allowed = payer = patient = Decimal(0)
    errors = 0
    for result in results:
        statuses.update(line.status for line in result.lines)
        for finding in result.findings:
            rules[finding.rule] += 1
            errors += finding.severity == "error"
        totals = result.totals
        allowed += totals.allowed or 0
        payer += totals.payer_paid or 0
        patient += totals.patient_owes or 0
    return {"visits": len(results), "lines": sum(statuses.values()),
            "statuses": sorted(statuses.items()), "rules": rules.most_common(),
            "visits_with_errors": sum(1 for r in results
                                      if any(f.severity == "error" for f in r.findings)),
            "allowed": _money(allowed), "payer_paid": _money(payer),
            "patient_owes": _money(patient), "errors": errors}


@router.post("/upload", response_class=HTMLResponse)
async def upload(request: Request) -> HTMLResponse:
    from therabill.interchange import read_visits
    from therabill.web.api import check_item

    form = await request.form()
    upload = form.get("file")
    detail_value = form.get("detail")
    detail: Detail = detail_value if detail_value in ("full", "lines", "totals") else "full"  # type: ignore[assignment]
    problem = None
    results: list[CheckResult] = []
    if not isinstance(upload, UploadFile) or not upload.filename:
        problem = "choose a CSV or JSON Lines file to upload"
    else:
        raw = await upload.read()
        engine = checker_of(request)
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text, problem = "", f"{upload.filename} is not UTF-8 text"
        name = upload.filename.lower()
        if problem is None and (name.endswith(".csv") or upload.content_type in CSV_TYPES):
            try:
                results = [check_csv_visit(engine, v) for v in read_csv_visits(text)]
            except CsvError as exc:
                problem = f"{upload.filename}: {exc}"
        elif problem is None:
            batch = read_visits(text)
            if batch.unreadable:
                problem = f"{upload.filename}: {batch.unreadable}"
            else:
                results = [check_item(engine, item, f"line {n}")
                           for n, item in enumerate(batch.items, start=1)]
    if problem is not None:
        return _page(request, "upload.html", status=422, title="Upload visits",
                     summary=None, problem=problem)
    body = b"".join(orjson.dumps(shape(r, detail)) + b"\n" for r in results)
    download = "data:application/x-ndjson;base64," + base64.b64encode(body).decode()
    stem = Path(upload.filename).stem if isinstance(upload, UploadFile) and upload.filename \
        else "visits"
    return _page(request, "upload.html", title="Upload visits", summary=summarise(results),
                 problem=None, download=download, download_name=f"{stem}-results.jsonl",
                 preview=[result_view(r) for r in results[:50]])


# ------------------------------------------------------------------------------- login
@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str = "/") -> HTMLResponse:
    return _login(request, next, None)


def _login(request: Request, target: str, problem: str | None) -> HTMLResponse:
    response = TEMPLATES.TemplateResponse(request, "login.html", {
        "title": "API key", "next": _safe_target(target), "problem": problem},
        status_code=401 if problem else 200)
    response.headers["content-security-policy"] = PAGE_POLICY
    return response


def _safe_target(target: str) -> str:
    # Only paths on this service: never an absolute URL (no open redirect).
    return target if target.startswith("/") and not target.startswith("//") else "/"


@router.post("/login", response_model=None)
async def login(request: Request) -> Response:
    form = await request.form()
    key = form.get("key")
    target = form.get("next")
    target = _safe_target(target if isinstance(target, str) else "/")
    keys: frozenset[str] = request.app.state.settings.api_keys
    offered = key.strip().encode() if isinstance(key, str) else b""
    if not offered or not any([hmac.compare_digest(offered, k.encode()) for k in keys]):
        return _login(request, target, "that key is not one of this service's keys")
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(KEY_COOKIE, offered.decode(), httponly=True, samesite="strict",
                        secure=request.url.scheme == "https")
    return response
