"""The simulator's voice: a scripted conversation spoken as transcript events, and recordings.

While a call is live (and `transcript_events` is on) the call's canned conversation is spoken
a few words per step: `transcript.partial` events carry the turn's text so far, then one
`transcript.final` carries the whole turn. The payload is what a speech pipeline commonly
sends (`role`, `content`), since OneInbox does not document it.

Recordings: a joined call that is recorded gets, `recording_delay` seconds after its end, a
`recording_url` signed for `recording_url_ttl_seconds` (a fresh one on every read, like an
object store's pre-signed URL) and a `call.recording.available` event. An expired or altered
URL answers 403, as object stores do.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import secrets
import struct
import time
import wave

from gateway.http.timestamps import parse_timestamp

WORDS_PER_STEP = 3
_KEY = secrets.token_bytes(32)


def steps(content: str) -> list[tuple[str, bool]]:
    """The texts a turn is spoken in: growing partials, then the final text."""
    words = content.split()
    out = [(" ".join(words[:n]), False) for n in range(WORDS_PER_STEP, len(words), WORDS_PER_STEP)]
    out.append((content, True))
    return out


def signed_recording_url(base: str, call_id: str, ttl_seconds: float) -> str:
    """A pre-signed URL of the call's recording, valid for `ttl_seconds` from now."""
    expires = int(time.time() + ttl_seconds)
    return f"{base}/recordings/{call_id}.wav?expires={expires}&signature={_sign(call_id, expires)}"


def check_recording_url(call_id: str, expires: str, signature: str) -> str | None:
    """None when the URL is valid, else the object store's reason to refuse it."""
    when = parse_timestamp(expires)  # `isdigit()` takes `²`, which `int()` refuses
    if when is None or not hmac.compare_digest(signature, _sign(call_id, when)):
        return "SignatureDoesNotMatch"
    if time.time() >= when:
        return "Request has expired"
    return None


def silence_wav(seconds: float = 0.5, rate: int = 8000) -> bytes:
    """A short mono WAV of silence: what the simulator's recordings sound like."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(struct.pack("<h", 0) * int(seconds * rate))
    return buffer.getvalue()


def _sign(call_id: str, expires: int) -> str:
    return hmac.new(_KEY, f"{call_id}:{expires}".encode(), hashlib.sha256).hexdigest()[:32]
