"""Helpers for the agent UI tests: users, logins, CSRF tokens, flash messages."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from app.db import unit_of_work
from app.services import auth

PASSWORD = "correct-horse-battery"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
FLASH = re.compile(r'class="flash flash-(\w+)"[^>]*>(.*?)</div>', re.S)


def make_user(engine: Engine, username: str, role: str, password: str = PASSWORD) -> None:
    with unit_of_work(engine) as session:
        auth.create_user(session, username=username, role=role, password=password)


def csrf_from(html: str) -> str:
    match = CSRF.search(html)
    assert match, "no CSRF token on the page"
    return match.group(1)


def login(client: TestClient, username: str, password: str = PASSWORD, *, expect: int = 303) -> str:
    """Signs in; returns a CSRF token of the new session."""
    token = csrf_from(client.get("/agent/login").text)
    response = client.post(
        "/agent/login",
        data={"username": username, "password": password, "csrf_token": token},
        follow_redirects=False,
    )
    assert response.status_code == expect, response.text[:500]
    if expect != 303:
        return token
    return csrf_from(client.get("/agent/").text)


def flashes(html: str) -> list[tuple[str, str]]:
    return [(kind, re.sub(r"<[^>]+>", " ", text).strip()) for kind, text in FLASH.findall(html)]


FIELD_ERROR = re.compile(r'<p id="([\w-]+)-error" class="field-error"[^>]*>(.*?)</p>', re.S)
ERROR_BOX = re.compile(r'<div class="error-box"[^>]*>(.*?)</div>', re.S)


def field_errors(html: str) -> dict[str, str]:
    """The errors shown beside their fields: {"form-field": text}."""
    return {name: re.sub(r"<[^>]+>", " ", text).strip() for name, text in FIELD_ERROR.findall(html)}


def error_boxes(html: str) -> list[str]:
    return [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", text)).strip() for text in ERROR_BOX.findall(html)]
