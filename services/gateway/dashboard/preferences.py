"""The theme and language a browser chose, kept in the preference cookie; the layout's words.

The cookie holds `<theme>.<language>`, e.g. `dark.de`; anything else reads as the defaults.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web

from gateway.dashboard.cookies import PREFERENCES_COOKIE

THEMES = ("light", "dark")
LANGUAGES = {"en": "English", "de": "Deutsch"}

STRINGS: dict[str, dict[str, str]] = {
    "en": {
        "title": "Partner dashboard",
        "nav.overview": "Overview",
        "nav.account": "Account",
        "nav.keys": "API keys",
        "nav.ops": "Operations",
        "nav.contacts": "Contacts",
        "nav.users": "Users",
        "nav.orders": "Orders",
        "nav.esims": "eSIMs",
        "nav.balance": "Balance",
        "nav.webhooks": "Webhooks",
        "nav.privacy": "Privacy requests",
        "nav.usage": "API usage",
        "nav.policy": "Privacy policy",
        "nav.logout": "Log out",
        "nav.login": "Log in",
        "prefs.title": "Display",
        "prefs.theme": "Theme",
        "prefs.language": "Language",
        "prefs.save": "Save",
        "theme.light": "Light",
        "theme.dark": "Dark",
        "login.title": "Log in",
        "login.email": "Email",
        "login.password": "Password",
        "login.submit": "Log in",
        "login.refused": "The email or password is not correct.",
        "login.locked": "Too many attempts. Try again in {seconds} seconds.",
        "footer.cookies": "This dashboard sets only essential cookies: your session, a"
        " security token and your display preferences.",
    },
    "de": {
        "title": "Partner-Dashboard",
        "nav.overview": "Übersicht",
        "nav.account": "Konto",
        "nav.keys": "API-Schlüssel",
        "nav.ops": "Betrieb",
        "nav.contacts": "Kontakte",
        "nav.users": "Benutzer",
        "nav.orders": "Bestellungen",
        "nav.esims": "eSIMs",
        "nav.balance": "Guthaben",
        "nav.webhooks": "Webhooks",
        "nav.privacy": "Datenschutzanfragen",
        "nav.usage": "API-Nutzung",
        "nav.policy": "Datenschutzerklärung",
        "nav.logout": "Abmelden",
        "nav.login": "Anmelden",
        "prefs.title": "Anzeige",
        "prefs.theme": "Design",
        "prefs.language": "Sprache",
        "prefs.save": "Speichern",
        "theme.light": "Hell",
        "theme.dark": "Dunkel",
        "login.title": "Anmelden",
        "login.email": "E-Mail",
        "login.password": "Passwort",
        "login.submit": "Anmelden",
        "login.refused": "E-Mail oder Passwort ist nicht korrekt.",
        "login.locked": "Zu viele Versuche. Bitte in {seconds} Sekunden erneut versuchen.",
        "footer.cookies": "Dieses Dashboard setzt nur notwendige Cookies: Ihre Sitzung, ein"
        " Sicherheitstoken und Ihre Anzeigeeinstellungen.",
    },
}


@dataclass(frozen=True)
class Preferences:
    """A theme and a language, both from fixed lists."""

    theme: str = THEMES[0]
    language: str = "en"

    @classmethod
    def of(cls, theme: str, language: str) -> Preferences:
        """The preferences asked for, each falling back to its default when not offered."""
        return cls(
            theme=theme if theme in THEMES else THEMES[0],
            language=language if language in LANGUAGES else "en",
        )

    @classmethod
    def parse(cls, value: str) -> Preferences:
        """Read the cookie's value."""
        theme, _, language = value.partition(".")
        return cls.of(theme, language)

    @classmethod
    def of_request(cls, request: web.Request) -> Preferences:
        """The browser's preferences (defaults without the cookie)."""
        return cls.parse(request.cookies.get(PREFERENCES_COOKIE, ""))

    def cookie_value(self) -> str:
        """What the cookie holds."""
        return f"{self.theme}.{self.language}"

    def translator(self) -> Callable[..., str]:
        """`t(key, **values)`: the layout's words in the chosen language (English otherwise)."""
        words = STRINGS[self.language]

        def translate(key: str, **values: object) -> str:
            phrase = words.get(key) or STRINGS["en"].get(key, key)
            return phrase.format(**values) if values else phrase

        return translate
