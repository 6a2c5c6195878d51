"""Logging in and out of the dashboard: the generic refusal, the lockout, the session cookie
and its end."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from dashboard_support import BUSINESS_NAME, LOGIN_MAX_FAILURES, OWNER_EMAIL, Browser

from gateway.dashboard.cookies import LOGIN_CSRF_COOKIE, SESSION_COOKIE

REFUSAL = "The email or password is not correct."


async def test_login_page_needs_no_session_and_sets_only_the_form_token(browser: Browser) -> None:
    """The login form opens for anyone; its only cookie is the pre-session CSRF token."""
    page = await browser.get("/dashboard/login")
    assert page.status == 200
    assert 'name="password"' in page.text
    assert page.cookie(LOGIN_CSRF_COOKIE) is not None
    assert len(page.set_cookies) == 1


async def test_pages_send_a_visitor_without_session_to_the_login(browser: Browser) -> None:
    """Without a session every page redirects to the login form."""
    for path in ("/dashboard", "/dashboard/", "/dashboard/account", "/dashboard/api-keys"):
        answer = await browser.get(path)
        assert (answer.status, answer.location) == (303, "/dashboard/login"), path


async def test_wrong_password_and_unknown_email_get_the_same_generic_refusal(
    browser: Browser,
) -> None:
    """A wrong password and an unknown email are refused alike; no session cookie is set."""
    wrong = await browser.log_in(OWNER_EMAIL, "not the right password")
    unknown = await browser.log_in("nobody@dashboard.example.org", "not the right password")
    for answer in (wrong, unknown):
        assert answer.status == 200
        assert REFUSAL in answer.text
        assert answer.cookie(SESSION_COOKIE) is None
    assert OWNER_EMAIL in wrong.text  # the form keeps what was typed (escaped)
    assert browser.cookie_value(SESSION_COOKIE) is None


async def test_not_an_email_is_refused_like_a_wrong_password(browser: Browser) -> None:
    """Input accounts would not accept is refused with the same message, not an error."""
    answer = await browser.log_in("<script>alert(1)</script>", "x" * 500)
    assert answer.status == 200
    assert REFUSAL in answer.text
    assert "<script>alert(1)</script>" not in answer.text
    assert "&lt;script&gt;" in answer.text


async def test_lockout_shows_when_to_retry(browser: Browser) -> None:
    """After too many failures the form says when to retry (429 with Retry-After)."""
    answers = [
        await browser.log_in(OWNER_EMAIL, "not the right password")
        for _ in range(LOGIN_MAX_FAILURES + 1)
    ]
    statuses = [answer.status for answer in answers]
    first_lock = statuses.index(429)
    assert statuses[:first_lock] == [200] * first_lock
    assert first_lock >= LOGIN_MAX_FAILURES - 1
    assert set(statuses[first_lock:]) == {429}
    locked = answers[-1]
    retry_after = int(locked.headers["Retry-After"])
    assert retry_after >= 1
    assert f"Try again in {retry_after} seconds." in locked.text


async def test_right_password_opens_the_overview(browser: Browser) -> None:
    """The right password sets the session cookie and leads to the partner's overview."""
    answer = await browser.log_in(OWNER_EMAIL)
    assert (answer.status, answer.location) == (303, "/dashboard/")
    session = answer.cookie(SESSION_COOKIE)
    assert session is not None
    assert session.value
    assert session["httponly"]
    assert session["samesite"] == "Lax"
    assert session["path"] == "/dashboard"
    cleared = answer.cookie(LOGIN_CSRF_COOKIE)
    assert cleared is not None
    assert cleared["max-age"] == "0"
    overview = await browser.get("/dashboard/")
    assert overview.status == 200
    assert "Dashboard Roaming &amp; Co &lt;GmbH&gt;" in overview.text
    assert BUSINESS_NAME not in overview.text  # escaped, never raw
    assert (await browser.get("/dashboard/login")).location == "/dashboard/"


async def test_login_without_the_csrf_token_is_refused(browser: Browser) -> None:
    """A login form posted without (or with a wrong) CSRF token gets 403 and no session."""
    await browser.get("/dashboard/login")
    form = {"email": OWNER_EMAIL, "password": "correct horse battery staple"}
    for token in (None, "0" * 64):
        data = form if token is None else {**form, "csrf_token": token}
        answer = await browser.post("/dashboard/login", data)
        assert answer.status == 403
        assert answer.headers["Content-Type"].startswith("text/html")
        assert answer.cookie(SESSION_COOKIE) is None


async def test_logout_ends_the_session_everywhere(
    owner: Browser, browser_factory: Callable[[], Awaitable[Browser]]
) -> None:
    """Logging out clears the cookie, and the old token no longer opens any page."""
    token = owner.cookie_value(SESSION_COOKIE)
    assert token
    csrf = await owner.csrf_of("/dashboard/")
    answer = await owner.post("/dashboard/logout", {"csrf_token": csrf})
    assert (answer.status, answer.location) == (303, "/dashboard/login")
    cleared = answer.cookie(SESSION_COOKIE)
    assert cleared is not None
    assert cleared.value == ""
    assert cleared["max-age"] == "0"
    assert owner.cookie_value(SESSION_COOKIE) is None
    replay = await browser_factory()
    replay.session.cookie_jar.update_cookies(
        {SESSION_COOKIE: token}, replay.base_url.with_path("/dashboard/")
    )
    refused = await replay.get("/dashboard/account")
    assert (refused.status, refused.location) == (303, "/dashboard/login")
    forgotten = refused.cookie(SESSION_COOKIE)
    assert forgotten is not None
    assert forgotten["max-age"] == "0"


async def test_logout_without_the_csrf_token_changes_nothing(owner: Browser) -> None:
    """A logout posted without the token is refused and the session still works."""
    answer = await owner.post("/dashboard/logout", {})
    assert answer.status == 403
    assert (await owner.get("/dashboard/account")).status == 200
