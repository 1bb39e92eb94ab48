"""The ceiling for the API load benchmark: a bare FastAPI app on the same stack (uvicorn, a sync
endpoint in the thread pool, SQLAlchemy with psycopg 3 and the same pool) that reads one account row
by key and returns it as JSON: no auth, no unit of work, no audit, no domain.  What our endpoints
reach relative to it is what the service's own work costs.

    CEILING_DATABASE_URL=postgresql+psycopg://... uvicorn --app-dir benchmarks/api_load ceiling:app
"""

from __future__ import annotations

import os
from typing import Any

from fastapi import FastAPI, HTTPException
from sqlalchemy import create_engine, text

engine = create_engine(
    os.environ["CEILING_DATABASE_URL"],
    pool_size=int(os.environ.get("CEILING_POOL_SIZE", "10")),
    max_overflow=int(os.environ.get("CEILING_MAX_OVERFLOW", "0")),
    pool_pre_ping=True,
)
QUERY = text(
    "SELECT account_ref, customer_ref, product_code, status, region_code, opened_on, "
    "principal_balance_fen, interest_balance_fen, fee_balance_fen, delinquent_since "
    "FROM card_account WHERE account_ref = :ref"
)
app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)


@app.get("/accounts/{account_ref}")
def get_account(account_ref: str) -> dict[str, Any]:
    with engine.connect() as connection:
        row = connection.execute(QUERY, {"ref": account_ref}).mappings().first()
    if row is None:
        raise HTTPException(404)
    return {
        **row,
        "opened_on": row["opened_on"].isoformat(),
        "delinquent_since": row["delinquent_since"].isoformat() if row["delinquent_since"] else None,
    }
