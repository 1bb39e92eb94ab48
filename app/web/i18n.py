"""The agent UI's labels in Simplified Chinese (the default) and English, and the label of a key in
one of them. The labels themselves are in app/web/labels (one module per area of the UI); which
language a request gets is decided in one place, app.domain.languages.

Reason texts are not here: they come from the policy file (Policy.reason_message), the same source as
the API, so that an agent reads exactly what the cardholder's app shows."""

from __future__ import annotations

from app.web.labels import LABELS

HTML_LANG = {"zh": "zh-CN", "en": "en"}


def translate(key: str, lang: str, **values: object) -> str:
    """The label in ``lang``; a missing key shows itself (and a test keeps every key present)."""
    texts = LABELS.get(key)
    if texts is None:
        return key
    text = texts[1] if lang == "en" else texts[0]
    return text.format(**values) if values else text
