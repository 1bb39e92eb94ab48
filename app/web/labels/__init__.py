"""Every label of the agent UI, in Simplified Chinese (the default) and English: one catalog made of
one module per area of the UI (each a ``LABELS`` dict, key -> (Chinese, English)); a key belongs to
exactly one of them.

Reason texts are not here: they come from the policy file (Policy.reason_message), the same source as
the API, so that an agent reads exactly what the cardholder's app shows."""

from __future__ import annotations

from app.web.labels import account, desk, disasters, frame, hints, oversight, servicing

AREAS = (frame, account, disasters, oversight, hints, desk, servicing)

LABELS: dict[str, tuple[str, str]] = {key: texts for area in AREAS for key, texts in area.LABELS.items()}
