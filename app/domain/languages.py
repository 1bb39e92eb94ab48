"""The languages of the service's words, and the one rule that picks one for a caller.

Every edge asks through ``language_of``: the API's ``Accept-Language`` header (``app.deps``), the web
UI's language cookie and its language switch (``app.web``), the policy's reason texts.
"""

__all__ = ["DEFAULT_LANGUAGE", "LANGUAGES", "language_of"]

LANGUAGES: tuple[str, ...] = ("zh", "en")
DEFAULT_LANGUAGE = "zh"  # the bank's language: Simplified Chinese


def language_of(preference: str | None) -> str:
    """ "en" when the first language asked for is English, otherwise "zh".

    ``preference`` is an Accept-Language header ("en-US,en;q=0.9,zh;q=0.8": its first range), a
    language tag ("en", "en-US", "EN_gb", "zh-CN"), the web UI's cookie or its switch's value; a
    missing or empty one, or any other language, is Simplified Chinese.
    """
    if not preference:
        return DEFAULT_LANGUAGE
    first = preference.split(",", 1)[0].strip().lower()
    return "en" if first.startswith("en") else DEFAULT_LANGUAGE
