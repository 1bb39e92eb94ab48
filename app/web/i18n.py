"""The agent UI's languages: Simplified Chinese (the default) and English, and the label of a key in
one of them. The labels themselves are in app/web/labels (one module per area of the UI).

Reason texts are not here: they come from the policy file (Policy.reason_message), the same source as
the API, so that an agent reads exactly what the cardholder's app shows."""

from __future__ import annotations

from app.domain.policy import normalize_language
from app.web.labels import LABELS

LANGUAGES = ("zh", "en")
HTML_LANG = {"zh": "zh-CN", "en": "en"}


def normalize(lang: str | None) -> str:
    return normalize_language(lang)


def translate(key: str, lang: str, **values: object) -> str:
    """The label in ``lang``; a missing key shows itself (and a test keeps every key present)."""
    texts = LABELS.get(key)
    if texts is None:
        return key
    text = texts[1] if lang == "en" else texts[0]
    return text.format(**values) if values else text
