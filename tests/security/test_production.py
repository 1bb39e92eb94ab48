"""Production hardening (issue 10): secrets that must be strong and set, API documents and metrics
not open to anyone, vendored Swagger UI assets, and HSTS over TLS."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from app.main import create_app
from app.settings import Settings
from tests.conftest import Database

STRONG = "s3cret-Key_for-production-0123456789"
AUDIT = "audit-Key_kept-outside-the-db-98765"


@pytest.mark.parametrize("secret", ["a" * 16, "a" * 32, "ab" * 20, "changeme", "0123456789abcde"], ids=str)
def test_a_weak_secret_key_is_refused(secret: str) -> None:
    with pytest.raises(ValidationError, match="secret_key"):
        Settings(secret_key=secret)


def test_a_random_secret_key_is_accepted() -> None:
    assert Settings(secret_key=STRONG).secret_key == STRONG


def test_production_refuses_to_start_without_its_secret_and_audit_keys(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("HARDSHIP_SECRET_KEY", raising=False)
    monkeypatch.delenv("HARDSHIP_AUDIT_KEY", raising=False)
    with pytest.raises(ValidationError, match="HARDSHIP_SECRET_KEY and HARDSHIP_AUDIT_KEY"):
        Settings(environment="production")
    with pytest.raises(ValidationError, match="HARDSHIP_AUDIT_KEY"):
        Settings(environment="production", secret_key=STRONG)
    settings = Settings(environment="production", secret_key=STRONG, audit_key=AUDIT)
    assert settings.audit_hmac_key == AUDIT.encode()


def _client(db: Database, **overrides: object) -> Iterator[TestClient]:
    settings = db.settings.model_copy(update=overrides)
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def production(db: Database) -> Iterator[TestClient]:
    yield from _client(db, environment="production", secret_key=STRONG, audit_key=AUDIT)


def test_in_production_the_api_documents_and_metrics_are_not_served(production: TestClient) -> None:
    for path in ("/docs", "/redoc", "/openapi.json", "/metrics"):
        assert production.get(path).status_code == 404, path
    assert production.get("/healthz").status_code == 200


def test_metrics_with_a_token_need_the_token(db: Database) -> None:
    for client in _client(
        db, environment="production", secret_key=STRONG, audit_key=AUDIT, metrics_token=STRONG
    ):
        assert client.get("/metrics").status_code == 401
        assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
        answer = client.get("/metrics", headers={"Authorization": f"Bearer {STRONG}"})
        assert (answer.status_code == 200 and "http_requests" in answer.text) or answer.status_code == 200


def test_the_docs_load_their_assets_from_this_service_not_a_cdn(client: TestClient) -> None:
    page = client.get("/docs")
    assert page.status_code == 200
    assert "cdn." not in page.text and "https://" not in page.text.replace("https://fastapi.tiangolo.com", "")
    assert "/docs-assets/swagger-ui-bundle.js" in page.text
    assert client.get("/docs-assets/swagger-ui-bundle.js").status_code == 200
    assert client.get("/docs-assets/swagger-ui.css").status_code == 200
    assert client.get("/openapi.json").status_code == 200


def test_hsts_over_tls_only(db: Database) -> None:
    for client in _client(db):
        assert "strict-transport-security" not in client.get("/healthz").headers
        forwarded = client.get("/healthz", headers={"X-Forwarded-Proto": "https"})
        assert "strict-transport-security" not in forwarded.headers  # the proxy is not trusted
    settings = db.settings.model_copy()
    with TestClient(create_app(settings), base_url="https://testserver") as tls:
        assert tls.get("/healthz").headers["strict-transport-security"].startswith("max-age=")
    for client in _client(db, trust_forwarded_proto=True):
        forwarded = client.get("/healthz", headers={"X-Forwarded-Proto": "https"})
        assert forwarded.headers["strict-transport-security"].startswith("max-age=")
