"""Configuration: the database URL (read, written back, refused), durations, and the
command line's refusals, each with exit code 2 and a line that says what to fix."""

from __future__ import annotations

import argparse

import pytest

from tornado_chat.config import ConfigError, DatabaseURL, SentinelURL, Settings, duration, parse_args
from tornado_chat.ratelimit import Limit


@pytest.fixture(autouse=True)
def no_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The flags' environment fallbacks are read when the parser is built: none here."""
    for name in ("CHAT_DATABASE_URL", "CHAT_COOKIE_SECRET", "CHAT_REDIS_URL", "CHAT_LOG_FORMAT",
                 "CHAT_DB_CONNECT_TIMEOUT", "CHAT_DB_ACQUIRE_TIMEOUT", "CHAT_DB_STATEMENT_TIMEOUT"):
        monkeypatch.delenv(name, raising=False)


def refusal(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """What parse_args says on stderr when it refuses ``argv`` (and that it exits with 2)."""
    with pytest.raises(SystemExit) as exited:
        parse_args(argv)
    assert exited.value.code == 2
    return capsys.readouterr().err


# The database URL


def test_a_database_url_names_user_password_host_port_and_database() -> None:
    assert DatabaseURL.parse("mysql://ana:secret@db.example:3307/chat") == DatabaseURL(
        "chat", "ana", "secret", "db.example", 3307
    )


def test_a_database_url_without_user_host_or_port_gets_the_defaults() -> None:
    assert DatabaseURL.parse("mysql:///chat") == DatabaseURL("chat", "root", "", "127.0.0.1", 3306)


def test_a_mariadb_scheme_is_the_same_as_mysql() -> None:
    assert DatabaseURL.parse("mariadb://root@h/chat") == DatabaseURL.parse("mysql://root@h/chat")


def test_a_database_url_may_name_a_unix_socket() -> None:
    url = DatabaseURL.parse("mysql://root@localhost/chat?unix_socket=/run/mysqld/mysqld.sock")
    assert url.unix_socket == "/run/mysqld/mysqld.sock"
    assert url.connect_kwargs() == {"user": "root", "password": "", "charset": "utf8mb4",
                                    "unix_socket": "/run/mysqld/mysqld.sock", "db": "chat"}


def test_percent_escapes_in_a_database_url_are_decoded() -> None:
    url = DatabaseURL.parse("mysql://an%40a:p%40ss%3Aw%2Frd@h/my%20chat")
    assert (url.user, url.password, url.database) == ("an@a", "p@ss:w/rd", "my chat")


@pytest.mark.parametrize(
    "text",
    [
        "mysql://ana:secret@db.example:3307/chat",
        "mysql://root@127.0.0.1:3306/chat",
        "mysql://an%40a:p%40ss%3Aw%2Frd%25@h:1/my%20chat",
        "mysql://root@localhost/chat?unix_socket=/tmp/my%20dir/mysqld.sock",
        "mysql://root@localhost/chat?unix_socket=/tmp/a%2Bb%26c.sock",
    ],
)
def test_url_gives_back_a_url_that_parses_to_the_same(text: str) -> None:
    url = DatabaseURL.parse(text)
    assert DatabaseURL.parse(url.url()) == url


def test_url_gives_back_a_url_that_parses_to_the_same_for_an_ipv6_host() -> None:
    url = DatabaseURL.parse("mysql://root@[::1]:3307/chat")
    assert DatabaseURL.parse(url.url()) == url


def test_a_sentinel_url_names_the_sentinels_the_primary_and_the_database() -> None:
    assert SentinelURL.parse("redis+sentinel://:pw@10.0.0.1:26380,10.0.0.2/chat/2") == SentinelURL(
        (("10.0.0.1", 26380), ("10.0.0.2", 26379)), "chat", 2, "pw"
    )
    assert SentinelURL.parse("redis+sentinel://10.0.0.1/chat").db == 0


@pytest.mark.parametrize(
    "text",
    ["redis+sentinel://h/", "redis+sentinel:///chat", "redis+sentinel://h:port/chat", "redis+sentinel://h/chat/x",
     "redis+sentinel://h/chat/0/more", "redis+sentinel://a,,b/chat"],
)
def test_a_malformed_sentinel_url_is_refused_with_a_clear_line(text: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        parse_args(["--redis-url", text])
    assert "--redis-url: a Sentinel URL" in capsys.readouterr().err


@pytest.mark.parametrize("seconds", ["-1", "nan", "inf", "3601"])
def test_a_failback_interval_that_makes_no_sense_is_refused_with_a_clear_line(
    seconds: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        parse_args(["--db-failback-interval", seconds])
    assert "--db-failback-interval must be a number of seconds from 0 (never) to 3600" in capsys.readouterr().err


def test_a_database_url_may_list_several_addresses_to_try_in_turn() -> None:
    url = DatabaseURL.parse("mysql://chat:pw@10.0.0.1:3307,10.0.0.2,[::1]:3308/chat")
    assert url.addresses == (("10.0.0.1", 3307), ("10.0.0.2", 3306), ("::1", 3308))
    assert [node.connect_kwargs()["port"] for node in url.nodes()] == [3307, 3306, 3308]
    assert {node.user for node in url.nodes()} == {"chat"}
    assert DatabaseURL.parse(url.url()) == url


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("postgres://root@h/chat", "must start with mysql://"),
        ("chat", "must start with mysql://"),
        ("mysql://root@h", "must name one database"),
        ("mysql://root@h/", "must name one database"),
        ("mysql://root@h/a/b", "must name one database"),
        ("mysql://root@h/a`b", "must name one database"),
        ("mysql://root@h:port/chat", "bad port"),
        ("mysql://root@h:70000/chat", "bad port"),
        ("mysql://root@a:3306,b:port/chat", "bad port or address"),
        ("mysql://root@a:3306,,b/chat", "empty address"),
        ("mysql://root@a:3306,/chat", "empty address"),
    ],
)
def test_a_database_url_that_names_no_one_mysql_database_is_refused(text: str, says: str) -> None:
    with pytest.raises(ConfigError, match=says):
        DatabaseURL.parse(text)


# Durations


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90", 90.0), ("90s", 90.0), ("15m", 900.0), ("12h", 43200.0), ("30d", 2592000.0), ("1.5h", 5400.0),
     ("0.5", 0.5)],
)
def test_a_duration_is_a_number_with_s_m_h_or_d(text: str, seconds: float) -> None:
    assert duration(text) == seconds


@pytest.mark.parametrize("text", ["", "s", "abc", "10w", "d1", "0", "0s", "-1h", "nan"])
def test_any_other_duration_is_refused(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        duration(text)


@pytest.mark.parametrize("text", ["inf", "1000000d"])
def test_a_duration_too_long_to_subtract_from_now_is_refused(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        duration(text)


# The command line


def test_the_idle_timeout_is_a_flag() -> None:
    assert parse_args(["--session-idle-timeout", "12h"]).session_idle_timeout == 12 * 3600
    assert parse_args([]).session_idle_timeout == 30 * 86400


def test_rate_limits_are_flags_that_can_be_raised_or_turned_off() -> None:
    args = parse_args(["--send-limit", "50/s:100", "--register-limit", "off"])
    assert (args.send_limit, args.register_limit) == (Limit(50.0, 100), None)
    assert parse_args(["--upload-limit", "30/min:5"]).upload_limit == Limit(0.5, 5)
    assert parse_args([]).send_limit == Settings.send_limit == Limit(20.0, 60)


@pytest.mark.parametrize("spec", ["20", "20/s", "x/s:3", "20/day:3", "0/s:5", "5/s:0"])
def test_a_malformed_limit_flag_is_refused_with_a_clear_line(spec: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        parse_args(["--send-limit", spec])
    assert exited.value.code == 2
    assert "RATE/UNIT:BURST" in capsys.readouterr().err


@pytest.mark.parametrize("value", ["0", "-1h", "soon"])
def test_a_session_idle_timeout_that_is_not_a_positive_duration_is_refused(
    value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert "duration" in refusal([f"--session-idle-timeout={value}"], capsys)


@pytest.mark.parametrize("rounds", ["3", "17"])
def test_bcrypt_rounds_outside_4_to_16_are_refused(rounds: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert "--bcrypt-rounds must be between 4 and 16" in refusal(["--bcrypt-rounds", rounds], capsys)


@pytest.mark.parametrize("port", ["-1", "65536"])
def test_a_port_outside_0_to_65535_is_refused(port: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert "--port must be between 0 and 65535" in refusal(["--port", port], capsys)


@pytest.mark.parametrize("name", ["connect", "acquire", "statement"])
@pytest.mark.parametrize("seconds", ["0", "-1", "3601"])
def test_a_database_timeout_outside_0_to_3600_seconds_is_refused(
    name: str, seconds: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert f"--db-{name}-timeout must be" in refusal([f"--db-{name}-timeout", seconds], capsys)


def test_a_database_timeout_from_the_environment_is_checked_too(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CHAT_DB_STATEMENT_TIMEOUT", "0")
    assert "--db-statement-timeout must be" in refusal([], capsys)


@pytest.mark.parametrize("seconds", ["0", "-5"])
def test_an_idle_timeout_not_above_0_is_refused(seconds: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert "--idle-timeout must be above 0" in refusal(["--idle-timeout", seconds], capsys)


def test_a_log_format_other_than_text_or_json_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert "invalid choice" in refusal(["--log-format", "xml"], capsys)


def test_a_log_format_from_the_environment_other_than_text_or_json_is_refused(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CHAT_LOG_FORMAT", "xml")
    assert "--log-format (or CHAT_LOG_FORMAT) must be text or json" in refusal([], capsys)


def test_the_access_log_is_lean_unless_asked_for_in_full(monkeypatch: pytest.MonkeyPatch) -> None:
    assert parse_args([]).access_log == "lean"
    assert parse_args(["--access-log", "full"]).access_log == "full"
    monkeypatch.setenv("CHAT_ACCESS_LOG", "full")
    assert parse_args([]).access_log == "full"


def test_an_access_log_other_than_lean_or_full_is_refused(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert "invalid choice" in refusal(["--access-log", "all"], capsys)
    monkeypatch.setenv("CHAT_ACCESS_LOG", "verbose")
    assert "--access-log (or CHAT_ACCESS_LOG) must be lean or full" in refusal([], capsys)


@pytest.mark.parametrize("count", ["0", "-1"])
def test_fewer_than_one_process_is_refused(count: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert "--processes must be at least 1" in refusal(["--processes", count], capsys)


def test_more_than_one_process_without_redis_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert "--processes above 1 needs --redis-url" in refusal(["--processes", "2"], capsys)
    assert parse_args(["--processes", "2", "--redis-url", "redis://127.0.0.1:6379/0"]).processes == 2
