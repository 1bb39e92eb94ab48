"""Disaster pages for supervisors and batch operators: declare, amend, dry run, enroll, watch a scan's
progress live (htmx polls a fragment), totals with a chart of relief by region, disputes in bulk and
the CSV downloads."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Form, Path, Request
from fastapi.responses import Response, StreamingResponse

import app.jobs  # noqa: F401 - registers the scan executor, so that a scan started here runs
from app.domain.access import Permission
from app.services import disasters, disputes, reports, scans
from app.services.csvout import csv_text
from app.services.principal import Principal
from app.web import i18n
from app.web.common import (
    BadForm,
    NotPermitted,
    RowId,
    UserDep,
    can,
    can_see_disasters,
    language,
    mask,
    parse_date_field,
    parse_int_field,
    permitted,
    policies_of,
    redirect,
    render,
    root_state,
    settings_of,
    text_field,
    ui_router,
    unit_of_work,
)
from app.web.errors import ACTION_ERRORS, flash_error
from app.web.security import PREFIX, flash

router = ui_router()
Code = Annotated[str, Path(min_length=1, max_length=64)]
REGION_SPLIT = re.compile(r"[\s,，、;；]+")
CHART_WIDTH = 640
CHART_BAR_HEIGHT = 26
CHART_LABEL_WIDTH = 90
CHART_VALUE_WIDTH = 150


def disaster_viewer(user: UserDep) -> Principal:
    """Those who run or review disasters (and may read them)."""
    if not (can_see_disasters(user) and can(user, Permission.DISASTER_READ)):
        raise NotPermitted()
    return user


Viewer = Annotated[Principal, Depends(disaster_viewer)]


def disaster_url(code: str) -> str:
    return f"{PREFIX}/disasters/{quote(code, safe='')}"


def _regions(raw: str) -> list[str]:
    return [code for code in REGION_SPLIT.split(raw.strip()) if code]


# --- list and declare ------------------------------------------------------------------------------


@router.get("/disasters")
def disasters_page(request: Request, user: Viewer) -> Response:
    with unit_of_work(request) as session:
        events = disasters.list_events(session, limit=500)
    return render(
        request,
        "disasters.html",
        {"events": list(reversed(events)), "form": {}, "disaster_url": disaster_url},
        section="disasters",
    )


@router.post("/disasters")
def declare(
    request: Request,
    user: Annotated[Principal, Depends(permitted(Permission.DISASTER_DECLARE))],
    code: Annotated[str, Form(max_length=64)] = "",
    name: Annotated[str, Form(max_length=200)] = "",
    kind: Annotated[str, Form(max_length=32)] = "",
    occurred_on: Annotated[str, Form(max_length=10)] = "",
    relief_start: Annotated[str, Form(max_length=10)] = "",
    relief_end: Annotated[str, Form(max_length=10)] = "",
    deferral_months: Annotated[str, Form(max_length=3)] = "",
    region_codes: Annotated[str, Form(max_length=20000)] = "",
) -> Response:
    lang = language(request)

    def label(key: str) -> str:
        return i18n.translate(key, lang)

    try:
        occurred = parse_date_field(occurred_on, label("disasters.occurred_on"), lang)
        start = parse_date_field(relief_start, label("disasters.relief_start"), lang)
        end = parse_date_field(relief_end, label("disasters.relief_end"), lang)
        months = parse_int_field(
            deferral_months, label("disasters.deferral_months"), lang, low=1, high=60, required=True
        )
        assert occurred is not None and start is not None and end is not None and months is not None
        with unit_of_work(request) as session:
            event = disasters.declare_event(
                session,
                code=text_field(code, max_length=64),
                name=text_field(name, max_length=200),
                kind=text_field(kind, max_length=32),
                occurred_on=occurred,
                relief_start=start,
                relief_end=end,
                deferral_months=months,
                region_codes=_regions(region_codes),
                actor=user,
            )
            event_code = event.code
    except ACTION_ERRORS as exc:
        flash_error(request, exc)
        return redirect(f"{PREFIX}/disasters#declare")
    flash(request, i18n.translate("disasters.declared", lang, code=event_code))
    return redirect(disaster_url(event_code))


# --- one event -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Bar:
    label: str
    value: Decimal
    width: int
    y: int


def region_bars(regions: list[dict[str, Any]]) -> tuple[list[Bar], int]:
    """Bars for the deferred amount of each region, scaled to the largest (server-rendered SVG)."""
    largest = max((r["total_deferred_amount"] for r in regions), default=Decimal(0))
    room = CHART_WIDTH - CHART_LABEL_WIDTH - CHART_VALUE_WIDTH
    bars = []
    for index, region in enumerate(regions):
        value: Decimal = region["total_deferred_amount"]
        width = int(value * room / largest) if largest > 0 else 0
        bars.append(
            Bar(region["region_code"], value, max(width, 1 if value > 0 else 0), index * CHART_BAR_HEIGHT)
        )
    return bars, max(1, len(bars)) * CHART_BAR_HEIGHT


@router.get("/disasters/{code}")
def disaster_page(request: Request, code: Code, user: Viewer) -> Response:
    with unit_of_work(request) as session:
        event = disasters.get_event(session, code)
        scan_list = (
            scans.list_scans(session, disaster_code=code, policies=policies_of(request))
            if can(user, Permission.SCAN_READ) or can(user, Permission.SCAN_RUN)
            else []
        )
        report = (
            reports.disaster_report(session, disaster_code=code, policies=policies_of(request))
            if can(user, Permission.REPORT_READ)
            else None
        )
    bars, chart_height = region_bars(report["regions"]) if report else ([], 0)
    return render(
        request,
        "disaster.html",
        {
            "e": event,
            "scans": list(reversed(scan_list)),
            "report": report,
            "bars": bars,
            "chart": {
                "width": CHART_WIDTH,
                "height": chart_height,
                "label_width": CHART_LABEL_WIDTH,
                "bar_height": CHART_BAR_HEIGHT,
            },
            "disaster_url": disaster_url,
        },
        section="disasters",
    )


@router.post("/disasters/{code}/amend")
def amend(
    request: Request,
    code: Code,
    user: Annotated[Principal, Depends(permitted(Permission.DISASTER_AMEND))],
    add_region_codes: Annotated[str, Form(max_length=20000)] = "",
    relief_end: Annotated[str, Form(max_length=10)] = "",
    deferral_months: Annotated[str, Form(max_length=3)] = "",
) -> Response:
    lang = language(request)
    try:
        end = parse_date_field(relief_end, i18n.translate("disasters.relief_end", lang), lang, required=False)
        months = parse_int_field(
            deferral_months, i18n.translate("disasters.deferral_months", lang), lang, low=1, high=60
        )
        with unit_of_work(request) as session:
            event = disasters.amend_event(
                session,
                code=code,
                add_region_codes=_regions(add_region_codes),
                relief_end=end,
                deferral_months=months,
                actor=user,
            )
            version = event.version
    except ACTION_ERRORS as exc:
        flash_error(request, exc)
        return redirect(disaster_url(code) + "#amend")
    flash(request, i18n.translate("disasters.amended", lang, code=code, version=version))
    return redirect(disaster_url(code))


@router.post("/disasters/{code}/close")
def close(
    request: Request,
    code: Code,
    user: Annotated[Principal, Depends(permitted(Permission.DISASTER_AMEND))],
    confirm: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    lang = language(request)
    try:
        if confirm != "yes":
            raise BadForm(i18n.translate("disasters.close_confirm", lang))
        with unit_of_work(request) as session:
            disasters.close_event(session, code=code, actor=user)
    except ACTION_ERRORS as exc:
        flash_error(request, exc)
        return redirect(disaster_url(code) + "#close")
    flash(request, i18n.translate("disasters.closed", lang, code=code))
    return redirect(disaster_url(code))


@router.post("/disasters/{code}/scans")
def start_scan(
    request: Request,
    code: Code,
    user: Annotated[Principal, Depends(permitted(Permission.SCAN_RUN))],
    mode: Annotated[str, Form(max_length=16)] = "dry_run",
    confirm: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    lang = language(request)
    try:
        if mode == "enroll" and confirm != "yes":
            raise BadForm(i18n.translate("disasters.enroll_confirm", lang))
        with unit_of_work(request) as session:
            scan = scans.start_scan(
                session,
                disaster_code=code,
                mode=mode,
                actor=user,
                policies=policies_of(request),
                settings=settings_of(request),
            )
            scan_id = scan.id
    except ACTION_ERRORS as exc:
        flash_error(request, exc)
        return redirect(disaster_url(code) + "#scans")
    flash(request, i18n.translate("scan.started", lang, id=scan_id))
    return redirect(f"{PREFIX}/scans/{scan_id}")


@router.post("/disasters/{code}/credit-disputes")
def file_disputes(
    request: Request, code: Code, user: Annotated[Principal, Depends(permitted(Permission.DISPUTE_BULK))]
) -> Response:
    lang = language(request)
    try:
        with unit_of_work(request) as session:
            created, existing = disputes.file_for_disaster(
                session, disaster_code=code, actor=user, policies=policies_of(request)
            )
    except ACTION_ERRORS as exc:
        flash_error(request, exc)
        return redirect(disaster_url(code))
    flash(request, i18n.translate("disasters.disputes_filed", lang, created=created, existing=existing))
    return redirect(disaster_url(code) + "#disputes")


@router.get("/disasters/{code}/report.csv")
def report_csv(
    request: Request, code: Code, user: Annotated[Principal, Depends(permitted(Permission.REPORT_READ))]
) -> Response:
    with unit_of_work(request) as session:
        report = reports.disaster_report(session, disaster_code=code, policies=policies_of(request))
    return _csv_download(
        csv_text(reports.REPORT_CSV_HEADER, reports.report_csv_rows(report)), f"report-{code}"
    )


# --- scans -----------------------------------------------------------------------------------------


def _scan_context(request: Request, scan_id: int) -> dict[str, Any]:
    with unit_of_work(request) as session:
        scan = scans.get_scan(session, scan_id, policies=policies_of(request))
    return {"scan": scan, "live": scan.status in ("queued", "running"), "disaster_url": disaster_url}


@router.get("/scans/{scan_id}")
def scan_page(
    request: Request, scan_id: RowId, user: Annotated[Principal, Depends(permitted(Permission.SCAN_READ))]
) -> Response:
    return render(request, "scan.html", _scan_context(request, scan_id), section="disasters")


@router.get("/scans/{scan_id}/progress")
def scan_progress(
    request: Request, scan_id: RowId, user: Annotated[Principal, Depends(permitted(Permission.SCAN_READ))]
) -> Response:
    """The fragment htmx polls; once the scan has finished it no longer asks to be polled."""
    return render(request, "partials/scan_progress.html", _scan_context(request, scan_id))


@router.post("/scans/{scan_id}/resume")
def resume_scan(
    request: Request,
    scan_id: RowId,
    user: Annotated[Principal, Depends(permitted(Permission.SCAN_RUN))],
) -> Response:
    lang = language(request)
    try:
        with unit_of_work(request) as session:
            scans.resume_scan(
                session,
                scan_id=scan_id,
                actor=user,
                policies=policies_of(request),
                settings=settings_of(request),
            )
    except ACTION_ERRORS as exc:
        flash_error(request, exc)
        return redirect(f"{PREFIX}/scans/{scan_id}")
    flash(request, i18n.translate("scan.resumed", lang, id=scan_id))
    return redirect(f"{PREFIX}/scans/{scan_id}")


@router.get("/scans/{scan_id}/results.csv")
def scan_results_csv(
    request: Request,
    scan_id: RowId,
    user: Annotated[Principal, Depends(permitted(Permission.SCAN_READ))],
    eligible: str = "",
) -> Response:
    with unit_of_work(request) as session:
        scan = scans.get_scan(session, scan_id, policies=policies_of(request))
    only = True if eligible == "true" else (False if eligible == "false" else None)
    lines = scans.iter_results_csv(root_state(request).engine, scan_id=scan.id, eligible=only)
    if not can(user, Permission.SCAN_RUN):
        # Only the operators who run the scans act on the customer list; reviewers see it masked.
        lines = _masked_customer_refs(lines)
    part = {True: "eligible", False: "ineligible", None: "all"}[only]
    name = _safe_filename(f"scan-{scan.id}-{scan.disaster_code}-{scan.mode}-{part}")
    return StreamingResponse(
        lines,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
    )


def _masked_customer_refs(lines: Iterator[str]) -> Iterator[str]:
    """The result CSV with the customer_ref column masked (all but its last four characters)."""
    column: int | None = None
    for line in lines:
        row = next(csv.reader(io.StringIO(line)), None)
        if row is None:
            yield line
            continue
        if column is None:
            column = row.index("customer_ref") if "customer_ref" in row else -1
            yield line
            continue
        if 0 <= column < len(row):
            row[column] = mask(row[column])
        out = io.StringIO()
        csv.writer(out, lineterminator=line[len(line.rstrip("\r\n")) :] or "\r\n").writerow(row)
        yield out.getvalue()


def _safe_filename(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)


def _csv_download(text: str, name: str) -> Response:
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{_safe_filename(name)}.csv"'},
    )
