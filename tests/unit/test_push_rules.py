"""Web Push's rules that need no server: the endpoint allow-list, its flag, the VAPID key's
flags and file, and the payload's text."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest

from tornado_chat.config import (
    DEFAULT_PUSH_ENDPOINTS,
    ConfigError,
    load_or_create_vapid_key,
    parse_args,
    push_settings,
    read_vapid_key,
)
from tornado_chat.models import Message, User
from tornado_chat.services.push import payload
from tornado_chat.validation import endpoint_allowed


@pytest.fixture(autouse=True)
def no_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("CHAT_VAPID_PRIVATE_KEY_FILE", "CHAT_VAPID_SUBJECT"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize(("endpoint", "allowed"), [
    ("https://fcm.googleapis.com/fcm/send/abc", True),
    ("https://updates.push.services.mozilla.com/wpush/v2/abc", True),
    ("https://web.push.apple.com/abc", True),
    ("https://db5p.notify.windows.com/w/?token=abc", True),
    ("https://fcm.googleapis.com.evil.test/fcm/send/abc", False),
    ("http://fcm.googleapis.com/fcm/send/abc", False),
    ("https://notify.windows.com/w/abc", False),
    ("https://evil.test/x.notify.windows.com/", False),
    ("https://evil.test@db5p.notify.windows.com/w/", False),
    ("https://127.0.0.1/", False),
])
def test_the_default_allow_list_takes_the_major_browsers_push_services_only(endpoint: str, allowed: bool) -> None:
    assert endpoint_allowed(endpoint, DEFAULT_PUSH_ENDPOINTS) is allowed


def test_push_endpoint_allow_is_repeatable_and_replaces_the_default(tmp_path: Path) -> None:
    args = parse_args(["--var-dir", str(tmp_path), "--push-endpoint-allow", "http://127.0.0.1:9000",
                       "--push-endpoint-allow", "https://push.example.com/v1/"])
    settings = push_settings(args)
    assert settings["push_endpoint_allow"] == ("http://127.0.0.1:9000/", "https://push.example.com/v1/")
    assert not endpoint_allowed("http://127.0.0.1:90001/x", settings["push_endpoint_allow"])
    assert push_settings(parse_args(["--var-dir", str(tmp_path)]))["push_endpoint_allow"] == DEFAULT_PUSH_ENDPOINTS


@pytest.mark.parametrize("prefix", ["ftp://push.example.com/", "push.example.com", "https://", "https://x/?a=1"])
def test_a_push_endpoint_prefix_that_is_no_http_url_is_refused(
    prefix: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        parse_args(["--push-endpoint-allow", prefix])
    assert "push endpoint prefix" in capsys.readouterr().err


def test_the_vapid_key_is_made_once_and_kept(tmp_path: Path) -> None:
    first = load_or_create_vapid_key(tmp_path)
    assert first.startswith("-----BEGIN PRIVATE KEY-----")
    assert load_or_create_vapid_key(tmp_path) == first
    assert sorted(p.name for p in tmp_path.iterdir()) == ["vapid_private_key.pem"]


def test_a_configured_vapid_key_must_be_a_p256_pem(tmp_path: Path) -> None:
    good = tmp_path / "good.pem"
    good.write_text(load_or_create_vapid_key(tmp_path / "var"))
    assert read_vapid_key(good) == good.read_text()
    bad = tmp_path / "bad.pem"
    bad.write_text("not a key")
    for path in (bad, tmp_path / "missing.pem"):
        with pytest.raises(ConfigError, match="--vapid-private-key"):
            read_vapid_key(path)


def test_a_vapid_subject_must_be_mailto_or_https(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        parse_args(["--vapid-subject", "ops@example.com"])
    assert "--vapid-subject" in capsys.readouterr().err
    assert parse_args(["--vapid-subject", "https://chat.example.com"]).vapid_subject == "https://chat.example.com"


def message(text: str | None, kind: str = "text") -> Message:
    return Message(1, 7, 3, User(2, "ana"), kind, text, datetime.datetime(2026, 1, 1), None)


def test_the_payload_text_is_at_most_120_characters_and_an_image_is_a_camera() -> None:
    import json

    assert json.loads(payload(message("a" * 120), "room", "public"))["text"] == "a" * 120
    assert json.loads(payload(message("🙂" * 121), "room", "public"))["text"] == "🙂" * 119 + "…"
    assert json.loads(payload(message(None, "image"), "room", "public"))["text"] == "📷"
    assert json.loads(payload(message("hi"), "ana, bo", "direct")) == {
        "type": "message", "group_id": 7, "group_name": "ana", "seq": 3, "user": {"id": 2, "username": "ana"},
        "text": "hi",
    }
