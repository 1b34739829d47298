"""A local stand-in for Twilio's Messages and Calls REST API, for tests, benchmarks and the dev
server.

It is a real HTTP server on 127.0.0.1 that the official SDK talks to once pointed at it
(`app.channels.twilio_http.make_client(..., api_url=double.url)`), so the SDK's own request
building, auth and error parsing are exercised, not imitated. It answers the way Twilio does:
201 with the message resource for a send, and Twilio's error JSON
(`{"code", "message", "more_info", "status"}`, which the SDK raises as TwilioRestException)
for bad credentials, missing fields, scripted failures and numbers set up to fail. It also
plays Twilio's side of the webhooks: signed status callbacks and signed inbound messages (an
MMS's media kept and served, for the account's credentials, at the MediaUrlN it names); for a
call, the signed requests Twilio makes to fetch its TwiML, send the digits pressed, report a
recording and the call's progress (the `*_request` helpers give URL, form and headers for a
TestClient; the `send_*` ones POST them to a live server).

    with TwilioDouble().start() as double:
        client = make_client(double.account_sid, double.auth_token, double.url)
        client.messages.create(to="+15551230000", from_="+15557650000", body="Hi")
        assert double.messages[0].body == "Hi"
"""

import base64
import binascii
import contextlib
import io
import json
import re
import socket
import threading
import time
import uuid
import wave
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit

import httpx
from twilio.request_validator import RequestValidator

from app.channels.segments import MAX_SMS_CHARS, count_segments

API_VERSION = "2010-04-01"
DEFAULT_ACCOUNT_SID = "AC" + "0" * 32

# What Twilio says for the codes tests usually script; any other code gets a generic text.
ERROR_MESSAGES: dict[int, str] = {
    20003: "Authenticate",
    20404: "The requested resource was not found",
    20429: "Too Many Requests",
    21211: "The 'To' number is not a valid phone number.",
    21408: "Permission to send an SMS has not been enabled for the region indicated by the "
    "'To' number.",
    21602: "Message body is required.",
    21603: "A 'From' phone number is required.",
    21604: "A 'To' phone number is required.",
    21610: "Attempt to send to unsubscribed recipient",
    21612: "The 'To' phone number is not currently reachable via SMS.",
    21614: "'To' number is not a valid mobile number",
    21617: "The concatenated message body exceeds the 1600 character limit.",
    21201: "No 'To' number is specified",
    21205: "Url parameter is required.",
    21213: "No 'From' number is specified",
}

_E164 = re.compile(r"^\+[1-9]\d{6,14}$")
_MESSAGES_PATH = re.compile(rf"^/{API_VERSION}/Accounts/(?P<account>[^/]+)/Messages\.json$")
# Media of an inbound MMS, as Twilio serves it (basic auth with the account's SID and token).
_MEDIA_PATH = re.compile(
    rf"^/{API_VERSION}/Accounts/(?P<account>[^/]+)/Messages/(?P<sid>MM[0-9a-f]+)/Media/"
    r"(?P<media>ME[0-9a-f]+)$"
)
# A call's recording, as Twilio serves it (WAV; ".mp3" asks for MP3, ".wav" for WAV).
_RECORDING_PATH = re.compile(
    rf"^/{API_VERSION}/Accounts/(?P<account>[^/]+)/Recordings/(?P<sid>RE[0-9a-f]+)"
    r"(?:\.wav)?$"
)
_CALLS_PATH = re.compile(rf"^/{API_VERSION}/Accounts/(?P<account>[^/]+)/Calls\.json$")
_MESSAGE_PATH = re.compile(
    rf"^/{API_VERSION}/Accounts/(?P<account>[^/]+)/Messages/(?P<sid>[^/]+)\.json$"
)


def _silence(seconds: int) -> bytes:
    """A WAV of `seconds` of silence (8 kHz, 16-bit mono, as a phone recording)."""
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(8000)
        wav.writeframes(b"\x00\x00" * 8000 * max(seconds, 1))
    return out.getvalue()


@dataclass
class RecordedMessage:
    """One Messages.json POST the double answered, with what it was sent and what it said."""

    sid: str  # "" when the request was refused and no message was created
    account_sid: str
    to: str
    from_: str | None
    messaging_service_sid: str | None
    body: str
    status_callback: str | None
    params: dict[str, str]
    auth_ok: bool
    # The MediaUrl values of an MMS (Twilio fetches each picture from its URL).
    media_urls: list[str] = field(default_factory=list)
    # "queued"/"accepted" when created, then whatever status callbacks set; "rejected" when the
    # API answered an error instead.
    status: str = "queued"
    http_status: int = 201
    error_code: int | None = None
    date_created: datetime = field(default_factory=lambda: datetime.now(UTC))


@dataclass
class RecordedCall:
    """One Calls.json POST the double answered (201): whom it calls, where its TwiML is."""

    sid: str
    account_sid: str
    to: str
    from_: str
    url: str
    method: str
    status_callback: str | None
    status_callback_events: list[str]
    machine_detection: str | None
    params: dict[str, str]
    auth_ok: bool
    status: str = "queued"
    date_created: datetime = field(default_factory=lambda: datetime.now(UTC))


class _ApiError(Exception):
    def __init__(self, status: int, code: int | None, message: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message or ERROR_MESSAGES.get(code or 0) or _default_message(status, code)


def _default_message(status: int, code: int | None) -> str:
    if status >= 500:
        return "An internal server error has occurred"
    return f"Error {code}" if code is not None else f"HTTP {status}"


def _error_json(error: _ApiError) -> dict[str, Any]:
    payload: dict[str, Any] = {"message": error.message, "status": error.status}
    if error.code is not None:  # without a code the SDK reports the HTTP status as the code
        payload["code"] = error.code
        payload["more_info"] = f"https://www.twilio.com/docs/errors/{error.code}"
    return payload


class _TwilioSide:
    """Twilio's side of the webhooks: the signed requests Twilio would post to Hearth about what
    the double recorded (for a TestClient, or sent to a live server). Part of TwilioDouble."""

    account_sid: str
    auth_token: str
    _lock: threading.Lock
    _by_sid: dict[str, RecordedMessage]
    _media: dict[str, tuple[bytes, str]]
    call: Callable[[str], RecordedCall]

    def sign(self, url: str, params: dict[str, str]) -> str:
        """The X-Twilio-Signature Twilio would put on a POST of `params` to `url`."""
        return RequestValidator(self.auth_token).compute_signature(url, params)

    def status_callback_request(
        self, sid: str, status: str, error_code: int | None = None
    ) -> tuple[str, dict[str, str], dict[str, str]]:
        """The URL, form and headers of the status callback for `sid` (for a TestClient).

        Also moves the recorded message to `status`, as Twilio's own state would move.
        """
        with self._lock:
            message = self._by_sid[sid]
            url = message.status_callback
            if not url:
                raise ValueError(f"message {sid} was sent without a StatusCallback")
            message.status = status
            if error_code is not None:
                message.error_code = error_code
        params = {
            "AccountSid": message.account_sid,
            "ApiVersion": API_VERSION,
            "MessageSid": sid,
            "MessageStatus": status,
            "SmsSid": sid,
            "SmsStatus": status,
            "To": message.to,
        }
        if message.from_:
            params["From"] = message.from_
        if message.messaging_service_sid:
            params["MessagingServiceSid"] = message.messaging_service_sid
        if error_code is not None:
            params["ErrorCode"] = str(error_code)
        return url, params, self._webhook_headers(url, params)

    def send_status_callback(
        self, sid: str, status: str, error_code: int | None = None, timeout: float = 10.0
    ) -> int:
        """POST a signed status callback for `sid` to its StatusCallback; the HTTP status."""
        url, params, headers = self.status_callback_request(sid, status, error_code)
        return httpx.post(url, data=params, headers=headers, timeout=timeout).status_code

    def inbound_sms_request(
        self, url: str, from_: str, to: str, body: str, **extra: str
    ) -> tuple[dict[str, str], dict[str, str]]:
        """The form and headers of an incoming SMS webhook to `url` (for a TestClient)."""
        sid = "SM" + uuid.uuid4().hex
        params = {
            "AccountSid": self.account_sid,
            "ApiVersion": API_VERSION,
            "Body": body,
            "From": from_,
            "MessageSid": sid,
            "NumMedia": "0",
            "NumSegments": str(count_segments(body).segments),
            "SmsMessageSid": sid,
            "SmsSid": sid,
            "SmsStatus": "received",
            "To": to,
            **extra,
        }
        return params, self._webhook_headers(url, params)

    def inbound_mms_request(
        self, url: str, from_: str, to: str, body: str, media: list[tuple[bytes, str]]
    ) -> tuple[dict[str, str], dict[str, str]]:
        """The form and headers of an incoming MMS webhook to `url`: each (bytes, declared
        type) of `media` is kept by the double and served, as Twilio does, at the MediaUrlN
        it hands out (fetched with the account's credentials)."""
        sid = "MM" + uuid.uuid4().hex
        extra = {
            "NumMedia": str(len(media)),
            "MessageSid": sid,
            "SmsMessageSid": sid,
            "SmsSid": sid,
        }
        for n, (data, content_type) in enumerate(media):
            media_sid = "ME" + uuid.uuid4().hex
            path = f"/{API_VERSION}/Accounts/{self.account_sid}/Messages/{sid}/Media/{media_sid}"
            with self._lock:
                self._media[path] = (data, content_type)
            extra[f"MediaUrl{n}"] = self._media_base() + path
            extra[f"MediaContentType{n}"] = content_type
        params, _ = self.inbound_sms_request(url, from_, to, body)
        params.update(extra)
        return params, self._webhook_headers(url, params)

    def send_inbound_mms(
        self,
        url: str,
        from_: str,
        to: str,
        body: str,
        media: list[tuple[bytes, str]],
        timeout: float = 10.0,
    ) -> int:
        """POST a signed incoming MMS webhook to `url`; the HTTP status."""
        params, headers = self.inbound_mms_request(url, from_, to, body, media)
        return httpx.post(url, data=params, headers=headers, timeout=timeout).status_code

    def _media_base(self) -> str:
        """The double's own address while it listens (what it hands out, it serves), else
        Twilio's, as Twilio's webhooks give it."""
        try:
            return str(getattr(self, "url"))  # noqa: B009 (TwilioDouble's, not this mixin's)
        except RuntimeError:
            return "https://api.twilio.com"

    def send_inbound_sms(
        self, url: str, from_: str, to: str, body: str, timeout: float = 10.0, **extra: str
    ) -> int:
        """POST a signed incoming SMS webhook to `url`; the HTTP status."""
        params, headers = self.inbound_sms_request(url, from_, to, body, **extra)
        return httpx.post(url, data=params, headers=headers, timeout=timeout).status_code

    # --- a call, as Twilio plays it ------------------------------------------------------

    def _call_params(self, call: RecordedCall, status: str, **extra: str) -> dict[str, str]:
        return {
            "AccountSid": call.account_sid,
            "ApiVersion": API_VERSION,
            "CallSid": call.sid,
            "CallStatus": status,
            "Direction": "outbound-api",
            "From": call.from_,
            "To": call.to,
            **extra,
        }

    def call_webhook_request(
        self, sid: str, url: str, status: str = "in-progress", **extra: str
    ) -> tuple[str, dict[str, str], dict[str, str]]:
        """URL, form and headers of a signed request Twilio makes to `url` during call `sid`."""
        params = self._call_params(self.call(sid), status, **extra)
        return url, params, self._webhook_headers(url, params)

    def answer_request(
        self, sid: str, answered_by: str = "human"
    ) -> tuple[str, dict[str, str], dict[str, str]]:
        """The call is answered (by a person, or `machine_start`…): Twilio fetches its TwiML."""
        call = self.call(sid)
        with self._lock:
            call.status = "in-progress"
        extra = {"AnsweredBy": answered_by} if call.machine_detection else {}
        return self.call_webhook_request(sid, call.url, **extra)

    def digits_request(
        self, sid: str, action: str, digits: str
    ) -> tuple[str, dict[str, str], dict[str, str]]:
        """A key pressed during a <Gather>: Twilio posts it to the Gather's action."""
        return self.call_webhook_request(sid, action, Digits=digits, FinishedOnKey="")

    def recording_request(
        self, sid: str, callback: str, duration: int = 7
    ) -> tuple[str, dict[str, str], dict[str, str]]:
        """A <Record>ing finished: Twilio posts it to the recordingStatusCallback."""
        recording = "RE" + uuid.uuid4().hex
        base = f"https://api.twilio.com/{API_VERSION}/Accounts/{self.account_sid}"
        with self._lock:  # served, like MMS media, to the account's credentials only
            path = f"/{API_VERSION}/Accounts/{self.account_sid}/Recordings/{recording}"
            self._media[path] = (_silence(duration), "audio/x-wav")
        return self.call_webhook_request(
            sid,
            callback,
            RecordingSid=recording,
            RecordingUrl=f"{base}/Recordings/{recording}",
            RecordingStatus="completed",
            RecordingDuration=str(duration),
            RecordingChannels="1",
            RecordingSource="RecordVerb",
        )

    def call_status_request(
        self, sid: str, status: str, answered_by: str | None = None, duration: int = 0
    ) -> tuple[str, dict[str, str], dict[str, str]]:
        """The call's status callback (queued, initiated, ringing, in-progress, completed,
        busy, no-answer, failed, canceled); also moves the recorded call to `status`."""
        call = self.call(sid)
        if not call.status_callback:
            raise ValueError(f"call {sid} was placed without a StatusCallback")
        with self._lock:
            call.status = status
        extra = {"CallDuration": str(duration), "Timestamp": format_datetime(datetime.now(UTC))}
        if answered_by:
            extra["AnsweredBy"] = answered_by
        return self.call_webhook_request(sid, call.status_callback, status, **extra)

    def send(self, request: tuple[str, dict[str, str], dict[str, str]]) -> httpx.Response:
        """POST one of the `*_request`s above to a live server."""
        url, params, headers = request
        return httpx.post(url, data=params, headers=headers, timeout=10.0)

    def _webhook_headers(self, url: str, params: dict[str, str]) -> dict[str, str]:
        return {"X-Twilio-Signature": self.sign(url, params), "User-Agent": "TwilioProxy/1.1"}


class TwilioDouble(_TwilioSide):
    """Twilio's Messages API on a loopback port, recording what it is sent (see module doc)."""

    def __init__(
        self,
        account_sid: str = DEFAULT_ACCOUNT_SID,
        auth_token: str = "test-token",
        latency: float = 0.0,
    ) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        # Seconds between recording a message and answering: the window in which a sender
        # that dies has handed Twilio a message without learning its sid.
        self.latency = latency
        self._lock = threading.Lock()
        self._messages: list[RecordedMessage] = []
        self._attempts: list[RecordedMessage] = []
        self._by_sid: dict[str, RecordedMessage] = {}
        self._calls: list[RecordedCall] = []
        self._media: dict[str, tuple[bytes, str]] = {}
        self._media_fetches: list[tuple[str, bool]] = []
        self._media_failures = 0
        self._scripted: deque[tuple[int, int | None]] = deque()
        self._failing_numbers: dict[str, tuple[int, int]] = {}
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle ------------------------------------------------------------------------

    def start(self) -> Self:
        """Listen on a free port of 127.0.0.1 in a background thread; returns self."""
        if self._server is not None:
            return self
        server = _Server(("127.0.0.1", 0), _Handler, self)
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="twilio-double",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening and drop open keep-alive connections."""
        server, thread = self._server, self._thread
        if server is None:
            return
        self._server = self._thread = None
        server.shutdown()
        server.server_close()
        server.close_connections()
        if thread is not None:
            thread.join(timeout=5)

    @property
    def url(self) -> str:
        """The base URL to give make_client, e.g. "http://127.0.0.1:54321"."""
        if self._server is None:
            raise RuntimeError("the Twilio double is not started")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    # --- what it saw ----------------------------------------------------------------------

    @property
    def messages(self) -> list[RecordedMessage]:
        """The messages created (answered 201), oldest first: a snapshot."""
        with self._lock:
            return list(self._messages)

    @property
    def attempts(self) -> list[RecordedMessage]:
        """Every Messages.json POST, refused ones included, oldest first: a snapshot."""
        with self._lock:
            return list(self._attempts)

    @property
    def calls(self) -> list[RecordedCall]:
        """The calls placed (answered 201), oldest first: a snapshot."""
        with self._lock:
            return list(self._calls)

    def call(self, sid: str) -> RecordedCall:
        with self._lock:
            return next(c for c in self._calls if c.sid == sid)

    def message(self, sid: str) -> RecordedMessage:
        with self._lock:
            return self._by_sid[sid]

    @property
    def media_fetches(self) -> list[tuple[str, bool]]:
        """Every GET of an MMS's media: (path, whether it carried the account's credentials)."""
        with self._lock:
            return list(self._media_fetches)

    def fail_media(self, times: int) -> None:
        """Answer the next `times` media fetches with a 503 (Twilio busy), then serve them."""
        with self._lock:
            self._media_failures = times

    def _get_media(self, path: str, auth_ok: bool) -> tuple[bytes, str]:
        with self._lock:
            self._media_fetches.append((path, auth_ok))
            if not auth_ok:
                raise _ApiError(401, 20003)
            if self._media_failures:
                self._media_failures -= 1
                raise _ApiError(503, None)
            if path not in self._media:
                raise _ApiError(404, 20404)
            return self._media[path]

    def reset(self) -> None:
        """Forget every message, scripted failure and failing number."""
        with self._lock:
            self._media.clear()
            self._media_fetches.clear()
            self._media_failures = 0
            self._messages.clear()
            self._attempts.clear()
            self._by_sid.clear()
            self._calls.clear()
            self._scripted.clear()
            self._failing_numbers.clear()

    # --- scripted failures ----------------------------------------------------------------

    def fail_next(self, *responses: tuple[int, int | None]) -> None:
        """Answer the next sends with these (HTTP status, Twilio code), in order, then 201s.

        e.g. fail_next((500, None), (429, 20429), (400, 21610)).
        """
        for status, _code in responses:
            if status < 400:
                raise ValueError(f"a scripted failure needs an error status, not {status}")
        with self._lock:
            self._scripted.extend(responses)

    def fail_number(self, to: str, status: int, code: int) -> None:
        """Answer every send to `to` with this error (e.g. 400, 21610 for an opted-out phone)."""
        with self._lock:
            self._failing_numbers[to] = (status, code)

    # --- the API --------------------------------------------------------------------------

    def _auth_ok(self, header: str | None) -> bool:
        if not header or not header.startswith("Basic "):
            return False
        try:
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        return user == self.account_sid and password == self.auth_token

    def _create_message(
        self,
        account: str,
        params: dict[str, str],
        auth_ok: bool,
        media_urls: list[str] | None = None,
    ) -> dict[str, Any]:
        message = RecordedMessage(
            sid="",
            account_sid=account,
            to=params.get("To", ""),
            from_=params.get("From") or None,
            messaging_service_sid=params.get("MessagingServiceSid") or None,
            body=params.get("Body", ""),
            status_callback=params.get("StatusCallback") or None,
            params=params,
            auth_ok=auth_ok,
            media_urls=list(media_urls or []),
        )
        try:
            with self._lock:
                self._attempts.append(message)
                if not auth_ok:
                    raise _ApiError(401, 20003)
                if account != self.account_sid:
                    raise _ApiError(404, 20404)
                if self._scripted:
                    raise _ApiError(*self._scripted.popleft())
                self._validate(message)
                if message.to in self._failing_numbers:
                    raise _ApiError(*self._failing_numbers[message.to])
                message.sid = "SM" + uuid.uuid4().hex
                # Twilio picks the sender from a Messaging Service's pool later: "accepted".
                message.status = "queued" if message.from_ else "accepted"
                self._messages.append(message)
                self._by_sid[message.sid] = message
        except _ApiError as error:
            message.status, message.http_status, message.error_code = (
                "rejected",
                error.status,
                error.code,
            )
            raise
        return self._resource(message)

    def _create_call(
        self, account: str, params: dict[str, str], events: list[str], auth_ok: bool
    ) -> dict[str, Any]:
        with self._lock:
            if not auth_ok:
                raise _ApiError(401, 20003)
            if account != self.account_sid:
                raise _ApiError(404, 20404)
            if self._scripted:
                raise _ApiError(*self._scripted.popleft())
            to, from_, url = params.get("To", ""), params.get("From", ""), params.get("Url", "")
            if not to:
                raise _ApiError(400, 21201)
            if not from_:
                raise _ApiError(400, 21213)
            if not url and "Twiml" not in params:
                raise _ApiError(400, 21205)
            if not _E164.match(to):
                raise _ApiError(400, 21211, f"The 'To' number {to} is not a valid phone number")
            if to in self._failing_numbers:
                raise _ApiError(*self._failing_numbers[to])
            call = RecordedCall(
                sid="CA" + uuid.uuid4().hex,
                account_sid=account,
                to=to,
                from_=from_,
                url=url,
                method=params.get("Method", "POST"),
                status_callback=params.get("StatusCallback") or None,
                status_callback_events=events,
                machine_detection=params.get("MachineDetection") or None,
                params=params,
                auth_ok=auth_ok,
            )
            self._calls.append(call)
        created = format_datetime(call.date_created)
        uri = f"/{API_VERSION}/Accounts/{account}/Calls/{call.sid}"
        return {
            "account_sid": account,
            "annotation": None,
            "answered_by": None,
            "api_version": API_VERSION,
            "caller_name": None,
            "date_created": created,
            "date_updated": created,
            "direction": "outbound-api",
            "duration": None,
            "end_time": None,
            "forwarded_from": None,
            "from": call.from_,
            "from_formatted": call.from_,
            "group_sid": None,
            "parent_call_sid": None,
            "phone_number_sid": None,
            "price": None,
            "price_unit": "USD",
            "sid": call.sid,
            "start_time": None,
            "status": call.status,
            "subresource_uris": {"recordings": f"{uri}/Recordings.json"},
            "to": call.to,
            "to_formatted": call.to,
            "trunk_sid": None,
            "uri": f"{uri}.json",
            "queue_time": "0",
        }

    def _validate(self, message: RecordedMessage) -> None:
        if not message.to:
            raise _ApiError(400, 21604)
        if not message.from_ and not message.messaging_service_sid:
            raise _ApiError(400, 21603)
        if not message.body and "MediaUrl" not in message.params:
            raise _ApiError(400, 21602)
        if len(message.body) > MAX_SMS_CHARS:
            raise _ApiError(400, 21617)
        number = message.to.removeprefix("whatsapp:")
        if not _E164.match(number):
            raise _ApiError(400, 21211, f"The 'To' number {message.to} is not a valid phone number")

    def _fetch_message(self, account: str, sid: str, auth_ok: bool) -> dict[str, Any]:
        if not auth_ok:
            raise _ApiError(401, 20003)
        with self._lock:
            message = self._by_sid.get(sid)
        if account != self.account_sid or message is None:
            raise _ApiError(404, 20404)
        return self._resource(message)

    def _list_messages(self, account: str, query: dict[str, str], auth_ok: bool) -> dict[str, Any]:
        """GET Messages.json filtered by To and From, one page, as Twilio pages it."""
        if not auth_ok:
            raise _ApiError(401, 20003)
        if account != self.account_sid:
            raise _ApiError(404, 20404)
        with self._lock:
            found = [
                m
                for m in self._by_sid.values()
                if m.to == query.get("To", m.to) and m.from_ == query.get("From", m.from_)
            ]
        size = int(query.get("PageSize", "50"))
        uri = f"/{API_VERSION}/Accounts/{account}/Messages.json"
        return {
            "messages": [self._resource(m) for m in found[-size:]],
            "end": len(found) - 1,
            "first_page_uri": uri,
            "next_page_uri": None,
            "previous_page_uri": None,
            "page": 0,
            "page_size": size,
            "start": 0,
            "uri": uri,
        }

    def _resource(self, message: RecordedMessage) -> dict[str, Any]:
        created = format_datetime(message.date_created)  # RFC 2822, as Twilio writes dates
        uri = f"/{API_VERSION}/Accounts/{message.account_sid}/Messages/{message.sid}"
        return {
            "account_sid": message.account_sid,
            "api_version": API_VERSION,
            "body": message.body,
            "date_created": created,
            "date_sent": None,
            "date_updated": created,
            "direction": "outbound-api",
            "error_code": message.error_code,
            "error_message": None,
            "from": message.from_,
            "messaging_service_sid": message.messaging_service_sid,
            "num_media": str(len(message.media_urls)),
            "num_segments": str(count_segments(message.body).segments),
            "price": None,
            "price_unit": "USD",
            "sid": message.sid,
            "status": message.status,
            "subresource_uris": {"media": f"{uri}/Media.json", "feedback": f"{uri}/Feedback.json"},
            "to": message.to,
            "uri": f"{uri}.json",
        }


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 128  # bench bursts open many connections at once

    def __init__(
        self,
        address: tuple[str, int],
        handler: type[BaseHTTPRequestHandler],
        double: TwilioDouble,
    ) -> None:
        self.double = double
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, handler)

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        try:
            super().process_request_thread(request, client_address)
        finally:
            with self._connections_lock:
                self._connections.discard(request)

    def close_connections(self) -> None:
        # Keep-alive connections would otherwise go on being served after stop().
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):  # already closed by its client
                connection.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"  # keep-alive: the SDK's requests session reuses connections
    disable_nagle_algorithm = True  # headers and body go in separate writes
    timeout = 60  # idle keep-alive connections give their thread back

    def log_message(self, format: str, *args: Any) -> None:
        pass  # a request log line costs more than the request

    def do_POST(self) -> None:
        double = self.server.double
        path = urlsplit(self.path).path
        multi = self._form_lists()
        params = {name: values[0] for name, values in multi.items()}
        auth_ok = double._auth_ok(self.headers.get("Authorization"))
        try:
            if match := _CALLS_PATH.match(path):
                events = multi.get("StatusCallbackEvent", [])
                self._send_json(201, double._create_call(match["account"], params, events, auth_ok))
            elif match := _MESSAGES_PATH.match(path):
                media = multi.get("MediaUrl", [])
                created = double._create_message(match["account"], params, auth_ok, media)
                if double.latency:
                    time.sleep(double.latency)
                self._send_json(201, created)

            else:
                raise _ApiError(404, 20404)
        except _ApiError as error:
            self._send_error(error)

    def do_GET(self) -> None:
        double = self.server.double
        path = urlsplit(self.path).path
        auth_ok = double._auth_ok(self.headers.get("Authorization"))
        try:
            if _MEDIA_PATH.match(path) or _RECORDING_PATH.match(path):
                data, content_type = double._get_media(path.removesuffix(".wav"), auth_ok)
                self.send_response(200)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            elif match := _MESSAGE_PATH.match(path):
                self._send_json(200, double._fetch_message(match["account"], match["sid"], auth_ok))
            elif match := _MESSAGES_PATH.match(path):
                query = {k: v[0] for k, v in parse_qs(urlsplit(self.path).query).items()}
                self._send_json(200, double._list_messages(match["account"], query, auth_ok))
            else:
                raise _ApiError(404, 20404)
        except _ApiError as error:
            self._send_error(error)

    def _form_lists(self) -> dict[str, list[str]]:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length).decode("utf-8", errors="replace") if length else ""
        return parse_qs(raw, keep_blank_values=True)

    def _send_error(self, error: _ApiError) -> None:
        extra = {"WWW-Authenticate": 'Basic realm="Twilio API"'} if error.status == 401 else {}
        self._send_json(error.status, _error_json(error), extra)

    def _send_json(
        self, status: int, payload: dict[str, Any], extra: dict[str, str] | None = None
    ) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)
