"""Sync with a Google Reader API server, against a real FreshRSS (the ``freshrss`` fixture)."""

from __future__ import annotations

from typing import Any

from freshrss import login_answer


def test_the_fixture_server_answers_clientlogin(freshrss: Any) -> None:
    status, body = login_answer(freshrss.url, freshrss.user, freshrss.password)
    assert status == 200 and b"Auth=" in body
    assert login_answer(freshrss.url, freshrss.user, "wrong")[0] == 401
    assert freshrss.api().ids()  # the script's feed, fetched by the server


def test_without_php_the_fixture_says_why(monkeypatch: Any, tmp_path: Any) -> None:
    from freshrss import missing_requirements

    monkeypatch.setenv("PATH", str(tmp_path))  # no php, no curl
    why = missing_requirements()
    assert why is not None and "php is not installed" in why and "apt-get install" in why
