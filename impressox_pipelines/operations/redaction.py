"""Mask secrets in any text before it is logged or sent to operators.

Three layers, because a secret can reach a log line in different shapes:
1. the exact values of secret environment variables (a variable is secret when its name says so —
   TOKEN, PASSWORD, SECRET, COOKIE, API_KEY, CREDENTIAL, PROXY — or when `settings.SERVICE_VARIABLES`
   marks it secret, e.g. `IMPRESSOX_MONGODB_URI`);
2. the password of any `scheme://user:password@host` URL (RFC 3986 userinfo), configured or not;
3. Telegram bot tokens (`<bot id>:<35 characters>`, the format @BotFather issues), e.g. inside a Bot API
   URL (`https://api.telegram.org/bot<token>/sendMessage`) that an HTTP library logs.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping

from impressox_pipelines.variables import SERVICE_VARIABLES

MASK = "***"

SECRET_NAME = re.compile(r"TOKEN|PASSWORD|PASSWD|SECRET|COOKIE|API_KEY|APIKEY|CREDENTIAL|PROXY|PRIVATE_KEY")
# Values shorter than this are not masked: masking "1" or "true" would mangle every line without
# protecting anything.
MIN_SECRET_LENGTH = 6

_URL_PASSWORD = re.compile(r"(?P<prefix>[a-zA-Z][a-zA-Z0-9+.-]*://[^\s/@:]*:)(?P<password>[^\s@/]+)@")
_BOT_TOKEN = re.compile(r"\b\d{5,}:[A-Za-z0-9_-]{30,}\b")


def is_secret_variable(name: str) -> bool:
    """Whether an environment variable's value must never appear in logs or messages."""
    declared = {var.name for var in SERVICE_VARIABLES if var.secret}
    return name in declared or bool(SECRET_NAME.search(name.upper()))


def secret_values(environ: Mapping[str, str] | None = None) -> list[str]:
    """The values of every secret variable in `environ` (default `os.environ`), longest first.

    Longest first so that a value containing another (a URI containing its password) is masked whole.
    For URL values, the password part alone is added too, in case it is logged on its own.
    """
    env = os.environ if environ is None else environ
    values: set[str] = set()
    for name, value in env.items():
        value = value.strip()
        if len(value) < MIN_SECRET_LENGTH or not is_secret_variable(name):
            continue
        values.add(value)
        for match in _URL_PASSWORD.finditer(value):
            if len(match["password"]) >= MIN_SECRET_LENGTH:
                values.add(match["password"])
    return sorted(values, key=len, reverse=True)


class Redactor:
    """Masks a fixed set of secret values plus the URL-password and bot-token patterns.

    Args:
        secrets: exact strings to mask (see `secret_values()`); order does not matter.
    """

    def __init__(self, secrets: Iterable[str] = ()):
        self._secrets = sorted({s for s in secrets if len(s) >= MIN_SECRET_LENGTH}, key=len, reverse=True)

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> Redactor:
        return cls(secret_values(environ))

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        text = _URL_PASSWORD.sub(lambda m: m["prefix"] + MASK + "@", text)
        return _BOT_TOKEN.sub(MASK, text)
