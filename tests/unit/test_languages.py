"""The one rule that picks the language of the words: English or Simplified Chinese."""

import pytest

from app.domain.languages import language_of


@pytest.mark.parametrize(
    ("preference", "expected"),
    [
        pytest.param("en", "en", id="english"),
        pytest.param("en-US", "en", id="english_with_region"),
        pytest.param("EN_gb", "en", id="english_odd_case"),
        pytest.param("zh", "zh", id="chinese"),
        pytest.param("zh-CN", "zh", id="chinese_with_region"),
        pytest.param("fr", "zh", id="unknown_language_falls_back_to_chinese"),
        pytest.param("", "zh", id="empty"),
        pytest.param(None, "zh", id="missing"),
        pytest.param("en-US,en;q=0.9,zh;q=0.8", "en", id="accept_language_english_first"),
        pytest.param(" en ; q=0.5 , zh", "en", id="accept_language_with_spaces_and_weight"),
        pytest.param("zh-CN,zh;q=0.9,en;q=0.8", "zh", id="accept_language_chinese_first"),
        pytest.param("*", "zh", id="any_language"),
    ],
)
def test_language_of(preference: str | None, expected: str) -> None:
    assert language_of(preference) == expected
