"""Setup errors that name the variable and the host, never the secret."""

from __future__ import annotations

from urllib.parse import urlsplit


class ResourceSetupError(RuntimeError):
    """A resource could not reach or authenticate against its service.

    The message names the environment variable that configured the resource and the host it tried,
    and never contains credentials.
    """

    def __init__(self, service: str, variable: str | None, endpoint: str, reason: str):
        self.service = service
        self.variable = variable
        self.endpoint = endpoint
        self.reason = reason
        source = f" (configured by {variable})" if variable else " (embedded default)"
        super().__init__(f"{service} at {endpoint}{source} is not usable: {reason}")


def describe_endpoint(url: str) -> str:
    """`scheme://host:port/path` of a URL with any user name, password or query removed.

    Mongo seed lists (`host1,host2`) are kept as written; only the credential part is dropped.
    """
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable URL>"
    netloc = parts.netloc.rsplit("@", 1)[-1]
    if not parts.scheme:
        return "<URL without scheme>"
    return f"{parts.scheme}://{netloc}{parts.path if parts.path not in ('', '/') else ''}"


def safe_reason(exc: BaseException, *secrets: str | None) -> str:
    """The first line of an exception's message with every given secret string masked."""
    text = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return f"{type(exc).__name__}: {text}"[:300]
