"""API targets: every public stage writes to the live bucket, so the choice must be explicit."""

from __future__ import annotations

import pytest

from send_test_images.errors import UsageError
from send_test_images.sending import targets


def test_the_default_is_the_local_site() -> None:
    assert targets.is_local(targets.resolve_api(None))
    assert targets.is_local(targets.resolve_api("local"))


@pytest.mark.parametrize(
    ("stage", "url"),
    [
        ("test", "https://api.photonranch.org/test"),
        ("dev", "https://api.photonranch.org/dev"),
        ("prod", "https://api.photonranch.org/api"),
        (" PROD ", "https://api.photonranch.org/api"),
    ],
)
def test_stage_names_give_the_photon_ranch_urls(stage: str, url: str) -> None:
    assert targets.resolve_api(stage) == url
    assert not targets.is_local(targets.resolve_api(stage))


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("http://127.0.0.1:8000/", "http://127.0.0.1:8000"),
        ("https://example.org/api//", "https://example.org/api"),
        ("HTTP://localhost:9/x", "http://localhost:9/x"),
        ("http://[::1]:8080", "http://[::1]:8080"),
    ],
)
def test_a_url_is_accepted_without_its_trailing_slash(given: str, expected: str) -> None:
    assert targets.resolve_api(given) == expected


def test_the_environment_variable_chooses_when_no_value_is_given(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(targets.API_ENV, "dev")
    assert targets.resolve_api(None) == "https://api.photonranch.org/dev"
    assert targets.resolve_api("test") == "https://api.photonranch.org/test"  # explicit wins


def test_an_empty_environment_variable_counts_as_unset() -> None:
    assert targets.is_local(targets.resolve_api(None, environ={targets.API_ENV: " "}))


def test_a_bad_environment_variable_is_named_in_the_error() -> None:
    with pytest.raises(UsageError, match=r"SEND_TEST_IMAGES_API 'staging' is not allowed"):
        targets.resolve_api(None, environ={targets.API_ENV: "staging"})


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("staging", "not a stage name"),
        ("ftp://example.org", "not a stage name"),
        ("http://", "no host"),
        ("http://host:99999", "port"),
        ("http://host/api?x=1", "query"),
        ("http://ho st", "white space"),
        ("", "empty"),
    ],
)
def test_a_bad_value_names_itself_and_what_is_allowed(value: str, why: str) -> None:
    with pytest.raises(UsageError) as info:
        targets.resolve_api(value)
    message = str(info.value)
    assert repr(value) in message
    assert why in message
    assert "local, test, dev, prod or an http(s):// URL" in message
