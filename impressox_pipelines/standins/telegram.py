"""A local stand-in for the Telegram Bot API: `getMe`, `sendMessage`, flood control and failure modes.

Speaks the Bot API envelope (https://core.telegram.org/bots/api#making-requests): `{"ok": true, "result":
…}` or `{"ok": false, "error_code": N, "description": "…", "parameters": {"retry_after": S}}`, at
`/bot<token>/<method>`, with parameters in the query string, a form-encoded body or a JSON body (the
three ways the spec allows; python-telegram-bot sends forms). `sendMessage` checks `chat_id`, the text
length (1–4,096 UTF-16 code units after entity parsing) and HTML markup (`parse_mode=HTML`), answering
with Telegram's own descriptions ("Bad Request: chat not found", "Bad Request: can't parse entities: …").

Flood control is enforced with leaky buckets like Telegram's published limits: 30 messages/s overall,
1/s per private chat, 20/min per group (negative chat ids and "@username"). A message over a limit is
answered 429 with `retry_after` (whole seconds, at least 1). `grace_s` tolerates that much clock
jitter between a well-behaved client and this server (Telegram's own limits are not exact either).

Admin endpoints (not part of the Bot API) under `/_standin/`:
    POST fail      {"chat_id": 42, "error": "blocked"|"deactivated"|"chat_not_found"|"timeout"|
                    "retry_after"|"server_error"|"bad_gateway", "times": N (omit: until reset),
                    "retry_after": S, "delay_s": S (for "timeout": how long to hang before answering),
                    "delivered": true (for "timeout": the message is accepted, only the answer is
                    late, as when Telegram's answer is lost after it sent the message)}
    GET  received  {"messages": [{chat_id, text, parse_mode, disable_notification, message_id, date,
                    received_at}, …]} in arrival order (`received_at`: server monotonic seconds)
    GET  stats     {"requests", "sent", "rate_limited", "errors": {description: count}}
    POST reset     forget messages, stats, failures and buckets

Error bodies are Telegram's real ones ("bad_gateway" is the HTML page its nginx front end answers
with during outages, which is not the Bot API envelope); with `replay_dir` (e.g. ../shared/fixtures) the 429 and 403
bodies are taken from the captures in `issue_snippets/` when present. Success bodies (`User`, `Message`)
are SYNTHETIC, shaped after the Bot API spec (`telegram_bot_api_spec/api.json`).
"""

from __future__ import annotations

import asyncio
import html
import json
import math
import re
import time
import zlib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse
from starlette.routing import Route

BOT_ID = 7_000_000_001
SUPPORTED_TAGS = frozenset({
    "b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler", "a", "code", "pre",
    "blockquote", "tg-emoji", "tg-time",
})
_TOKEN = re.compile(r"\d+:[A-Za-z0-9_-]{5,}")
_CHAT = re.compile(r"-?\d{1,20}|@[A-Za-z][A-Za-z0-9_]{3,31}")
_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)(\s[^<>]*)?>")
_ENTITY = re.compile(r"&(lt|gt|amp|quot|#\d+|#x[0-9a-fA-F]+);")

DESCRIPTIONS = {
    "blocked": (403, "Forbidden: bot was blocked by the user"),
    "deactivated": (403, "Forbidden: user is deactivated"),
    "chat_not_found": (400, "Bad Request: chat not found"),
    "server_error": (500, "Internal Server Error"),
}
RETRY_AFTER_DESCRIPTION = "Too Many Requests: retry after {retry_after}"
BAD_GATEWAY_PAGE = ("<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway"
                    "</h1></center>\r\n<hr><center>nginx/1.18.0</center>\r\n</body>\r\n</html>\r\n")
FAILURES = (*DESCRIPTIONS, "timeout", "retry_after", "bad_gateway")


class _Bucket:
    """A leaky bucket: `max_rate` per `period` seconds, bursts up to `max_rate`."""

    def __init__(self, max_rate: float, period: float):
        self.rate = max_rate / period
        self.capacity = max_rate
        self.level = 0.0
        self.last = time.monotonic()

    def wait_needed(self, now: float, grace_s: float) -> float:
        """Seconds until one more message fits (0 when it fits now, within `grace_s` of jitter)."""
        self.level = max(0.0, self.level - max(0.0, now - self.last) * self.rate)
        self.last = max(self.last, now)
        excess = self.level + 1 - self.capacity - self.rate * grace_s
        return 0.0 if excess <= 1e-9 else excess / self.rate

    def take(self) -> None:
        self.level += 1


@dataclass
class _Failure:
    error: str
    times: int | None
    retry_after: int = 3
    delay_s: float = 5.0
    delivered: bool = False


class TelegramStandIn:
    """The stand-in's state; `app` is its ASGI application."""

    def __init__(self, replay_dir: Path | None = None, *, overall_per_second: float = 30,
                 private_chat_per_second: float = 1, group_per_minute: float = 20, grace_s: float = 0.1):
        self.limits = (overall_per_second, private_chat_per_second, group_per_minute)
        self.grace_s = grace_s
        self.descriptions = dict(DESCRIPTIONS)
        self.retry_after_description = RETRY_AFTER_DESCRIPTION
        if replay_dir is not None:
            self._load_captures(Path(replay_dir) / "issue_snippets")
        self.reset()
        self.app = Starlette(routes=[
            Route("/_standin/fail", self.admin_fail, methods=["POST"]),
            Route("/_standin/received", self.admin_received, methods=["GET"]),
            Route("/_standin/stats", self.admin_stats, methods=["GET"]),
            Route("/_standin/reset", self.admin_reset, methods=["POST"]),
            Route("/bot{token}/{method}", self.bot_method, methods=["GET", "POST"]),
        ])
        self.app.state.telegram = self

    def _load_captures(self, folder: Path) -> None:
        blocked = folder / "telegram_403_blocked_by_user.json"
        if blocked.exists():
            body = json.loads(blocked.read_text())
            self.descriptions["blocked"] = (int(body["error_code"]), body["description"])
        flood = folder / "telegram_429_with_retry_after.json"
        if flood.exists():
            body = json.loads(flood.read_text())
            number = str(body["parameters"]["retry_after"])
            self.retry_after_description = body["description"].replace(number, "{retry_after}")

    def reset(self) -> None:
        overall, _, _ = self.limits
        self.overall = _Bucket(overall, 1)
        self.chats: dict[int | str, _Bucket] = {}
        self.failures: dict[str, _Failure] = {}
        self.received: list[dict[str, Any]] = []
        self.stats: Counter = Counter()
        self.errors: Counter = Counter()
        self.message_ids: Counter = Counter()

    # ---------------------------------------------------------------------------------- admin

    async def admin_fail(self, request: Request) -> JSONResponse:
        body = await request.json()
        error = body.get("error")
        if error not in FAILURES:
            return JSONResponse({"ok": False, "description": f"unknown error {error!r}"}, status_code=400)
        self.failures[str(body["chat_id"])] = _Failure(
            error, body.get("times"), int(body.get("retry_after", 3)), float(body.get("delay_s", 5.0)),
            bool(body.get("delivered", False)),
        )
        return JSONResponse({"ok": True})

    async def admin_received(self, request: Request) -> JSONResponse:
        return JSONResponse({"messages": self.received})

    async def admin_stats(self, request: Request) -> JSONResponse:
        return JSONResponse({**self.stats, "errors": dict(self.errors)})

    async def admin_reset(self, request: Request) -> JSONResponse:
        self.reset()
        return JSONResponse({"ok": True})

    # ---------------------------------------------------------------------------------- Bot API

    def _error(self, code: int, description: str, retry_after: int | None = None) -> JSONResponse:
        body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
        if retry_after is not None:
            body["parameters"] = {"retry_after": retry_after}
            self.stats["rate_limited"] += 1
        self.errors[description if retry_after is None else "Too Many Requests"] += 1
        return JSONResponse(body, status_code=code)

    async def _params(self, request: Request) -> dict[str, Any]:
        params: dict[str, Any] = dict(request.query_params)
        body = await request.body()
        content_type = request.headers.get("content-type", "")
        if body and "application/json" in content_type:
            data = json.loads(body)
            if not isinstance(data, dict):
                raise ValueError("JSON body must be an object")
            params.update(data)
        elif body and "application/x-www-form-urlencoded" in content_type:
            params.update(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
        elif body:
            raise ValueError(f"unsupported content type {content_type!r}")
        return params

    def _bot_user(self) -> dict[str, Any]:
        return {"id": BOT_ID, "is_bot": True, "first_name": "ImpressoX", "username": "impressox_standin_bot",
                "can_join_groups": True, "can_read_all_group_messages": False, "supports_inline_queries": False}

    async def bot_method(self, request: Request) -> JSONResponse:
        self.stats["requests"] += 1
        if not _TOKEN.fullmatch(request.path_params["token"]):
            return self._error(404, "Not Found")
        method = request.path_params["method"].lower()
        try:
            params = await self._params(request)
        except (ValueError, UnicodeDecodeError) as exc:
            return self._error(400, f"Bad Request: {exc}")
        if method == "getme":
            return JSONResponse({"ok": True, "result": self._bot_user()})
        if method == "sendmessage":
            return await self._send_message(params)
        return self._error(404, "Not Found")

    def _chat_bucket(self, chat: int | str) -> _Bucket:
        bucket = self.chats.get(chat)
        if bucket is None:
            _, private, group = self.limits
            group_chat = isinstance(chat, str) or chat < 0
            bucket = _Bucket(group, 60) if group_chat else _Bucket(private, 1)
            self.chats[chat] = bucket
        return bucket

    async def _send_message(self, params: dict[str, Any]) -> JSONResponse:
        raw_chat = str(params.get("chat_id", "")).strip()
        if not raw_chat:
            return self._error(400, "Bad Request: chat_id is empty")
        if not _CHAT.fullmatch(raw_chat):
            return self._error(400, "Bad Request: chat not found")
        chat: int | str = raw_chat if raw_chat.startswith("@") else int(raw_chat)
        text = params.get("text")
        if not isinstance(text, str) or not text.strip():
            return self._error(400, "Bad Request: message text is empty")
        parse_mode = params.get("parse_mode") or None
        if parse_mode is not None and str(parse_mode).upper() == "HTML":
            plain, problem = parse_html(text)
            if problem:
                return self._error(400, f"Bad Request: can't parse entities: {problem}")
        else:
            plain = text
        if not plain.strip():
            return self._error(400, "Bad Request: message text is empty")
        if len(plain.encode("utf-16-le")) // 2 > 4096:
            return self._error(400, "Bad Request: message is too long")

        now = time.monotonic()
        bucket = self._chat_bucket(chat)
        wait = max(self.overall.wait_needed(now, self.grace_s), bucket.wait_needed(now, self.grace_s))
        if wait > 0:
            retry_after = max(1, math.ceil(wait))
            return self._error(429, self.retry_after_description.format(retry_after=retry_after), retry_after)
        self.overall.take()
        bucket.take()

        failure = self.failures.get(raw_chat)
        if failure is not None:
            if failure.times is not None:
                failure.times -= 1
                if failure.times <= 0:
                    del self.failures[raw_chat]
            if failure.error == "timeout":
                self.stats["timeouts"] += 1
                answer = self._accept(chat, text, plain, parse_mode, params, now) \
                    if failure.delivered else self._error(504, "Gateway Timeout")
                await asyncio.sleep(failure.delay_s)
                return answer
            if failure.error == "retry_after":
                return self._error(429, self.retry_after_description.format(retry_after=failure.retry_after),
                                   failure.retry_after)
            if failure.error == "bad_gateway":
                self.errors["Bad Gateway"] += 1
                return HTMLResponse(BAD_GATEWAY_PAGE, status_code=502)
            code, description = self.descriptions[failure.error]
            return self._error(code, description)
        return self._accept(chat, text, plain, parse_mode, params, now)

    def _accept(self, chat: int | str, text: str, plain: str, parse_mode: str | None, params: dict[str, Any],
                now: float) -> JSONResponse:
        """Record the message as received and answer with it."""
        self.message_ids[chat] += 1
        message_id = self.message_ids[chat]
        date = int(time.time())
        disable = str(params.get("disable_notification", "")).lower() in ("true", "1")
        self.received.append({
            "chat_id": chat, "text": text, "parse_mode": parse_mode, "disable_notification": disable,
            "message_id": message_id, "date": date, "received_at": now,
        })
        self.stats["sent"] += 1
        return JSONResponse({"ok": True, "result": {
            "message_id": message_id, "from": self._bot_user(), "chat": _chat_object(chat), "date": date,
            "text": plain,
        }})


def _chat_object(chat: int | str) -> dict[str, Any]:
    if isinstance(chat, str):
        return {"id": -1_000_000_000_000 - zlib.crc32(chat.encode()), "type": "channel", "title": chat[1:],
                "username": chat[1:]}
    if chat < 0:
        kind = "supergroup" if str(chat).startswith("-100") else "group"
        return {"id": chat, "type": kind, "title": f"Group {chat}"}
    return {"id": chat, "type": "private", "first_name": f"User {chat}"}


def parse_html(text: str) -> tuple[str, str | None]:
    """Telegram's HTML parse mode: (visible text, None) or ("", the problem as Telegram words it).

    Offsets in problems are UTF-8 byte offsets, as Telegram reports them.
    """
    out: list[str] = []
    stack: list[tuple[str, int]] = []
    pos = 0

    def offset(index: int) -> int:
        return len(text[:index].encode("utf-8"))

    while pos < len(text):
        char = text[pos]
        if char == "<":
            match = _TAG.match(text, pos)
            if not match:
                return "", f"Unexpected end of name token at byte offset {offset(pos)}"
            closing, name = bool(match.group(1)), match.group(2).lower()
            if name not in SUPPORTED_TAGS:
                kind = "end" if closing else "start"
                return "", f'Unsupported {kind} tag "{name}" at byte offset {offset(pos)}'
            if closing:
                if not stack or stack[-1][0] != name:
                    return "", f'Unmatched end tag at byte offset {offset(pos)}, expected "</{stack[-1][0]}>"' \
                        if stack else f"Unexpected end tag at byte offset {offset(pos)}"
                stack.pop()
            else:
                stack.append((name, pos))
            pos = match.end()
        elif char == "&":
            match = _ENTITY.match(text, pos)
            if match:
                out.append(html.unescape(match.group(0)))
                pos = match.end()
            else:
                out.append("&")
                pos += 1
        else:
            out.append(char)
            pos += 1
    if stack:
        return "", f"Can't find end of the entity starting at byte offset {offset(stack[-1][1])}"
    return "".join(out), None


def create_app(replay_dir: Path | None = None) -> Starlette:
    """The stand-in's ASGI app (its state at `app.state.telegram`)."""
    return TelegramStandIn(replay_dir).app
