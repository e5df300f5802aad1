"""The agent's wire format (``agent/PROTOCOL.md``): HELLO, 12-byte-header frames, JSON control messages.

Everything read from the agent is validated here before it is used: the HELLO's magic, version and limits, every
header field, and each payload length, which is checked against the negotiated maximum *before* bytes are
buffered for it, so a corrupt or hostile stream cannot make the client allocate without bound.
"""

from __future__ import annotations

import enum
import json
import struct
from typing import Any

import attrs

from .. import exception as exc

MAGIC = b"SBXAGENT"
VERSION = 1
HELLO_SIZE = 32
HEADER_SIZE = 12
MIN_FRAME = 1024
MAX_FRAME_LIMIT = 1 << 20
MIN_WINDOW = 4096
MAX_WINDOW_LIMIT = 1 << 30
MAX_CREDIT = (1 << 31) - 1
FLAG_ACK = 1

_HELLO = struct.Struct(">8sHHIIIQ")
_HEADER = struct.Struct(">BBBBII")
_U32 = struct.Struct(">I")


class FrameType(enum.IntEnum):
    """Frame types (PROTOCOL.md §3)."""

    OPEN = 1
    DATA = 2
    WINDOW = 3
    EOF = 4
    MSG = 5
    CLOSE = 6
    PING = 7
    GOAWAY = 8


class Stream(enum.IntEnum):
    """The byte streams of a channel: stdin flows to the agent, stdout/stderr from it."""

    STDIN = 0
    STDOUT = 1
    STDERR = 2


class Feature(enum.IntFlag):
    """Feature bits of HELLO."""

    EXEC = 1
    PTY = 2
    FS = 4
    WATCH = 8
    ACTIVITY = 16
    TREE_KILL = 32
    PATH_BYTES = 64


class AgentProtocolError(exc.InternalError):
    """The agent's byte stream broke the protocol (or its HELLO is not one this client speaks)."""


class AgentLostError(exc.ConnectionError):
    """The agent's stream ended (the agent exited, the sandbox stopped, or the link broke)."""


class AgentOpError(exc.Error):
    """An agent operation failed; ``kind`` is the error kind of PROTOCOL.md §6 (e.g. ``NotFound``)."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(f"{kind}: {message}")
        self.kind = kind
        self.message = message


def _in_range(lo: int, hi: int) -> Any:
    def check(_inst: object, attr: attrs.Attribute[int], value: int) -> None:
        if not lo <= value <= hi:
            raise AgentProtocolError(f"HELLO {attr.name} {value} outside [{lo}, {hi}]")

    return check


@attrs.frozen
class Hello:
    """The preamble each side sends first: version and the limits the *sender* accepts."""

    version: int = attrs.field(validator=_in_range(VERSION, VERSION))
    max_frame: int = attrs.field(validator=_in_range(MIN_FRAME, MAX_FRAME_LIMIT))
    window: int = attrs.field(validator=_in_range(MIN_WINDOW, MAX_WINDOW_LIMIT))
    max_channels: int = attrs.field(validator=_in_range(1, 0xFFFFFFFF))
    features: int = attrs.field(default=0, validator=_in_range(0, (1 << 64) - 1))

    def encode(self) -> bytes:
        """The 32 bytes on the wire."""
        return _HELLO.pack(MAGIC, self.version, 0, self.max_frame, self.window, self.max_channels, self.features)

    @classmethod
    def decode(cls, data: bytes) -> Hello:
        """Parse and validate a HELLO; raises ``AgentProtocolError`` on any mismatch."""
        if len(data) != HELLO_SIZE:
            raise AgentProtocolError(f"HELLO is {len(data)} bytes, want {HELLO_SIZE}")
        magic, version, reserved, max_frame, window, channels, features = _HELLO.unpack(data)
        if magic != MAGIC:
            raise AgentProtocolError(f"not an agent stream (magic {magic!r})")
        if version != VERSION:
            raise AgentProtocolError(f"agent speaks protocol version {version}; this client speaks {VERSION}")
        if reserved:
            raise AgentProtocolError("HELLO reserved bytes are not zero")
        return cls(version, max_frame, window, channels, features)


@attrs.frozen
class Frame:
    """One decoded frame."""

    type: FrameType
    channel: int
    payload: bytes = b""
    stream: int = 0
    flags: int = 0


def encode_frame(ftype: FrameType, channel: int, payload: bytes = b"", *, stream: int = 0, flags: int = 0) -> bytes:
    """Header plus payload, ready to write."""
    return _HEADER.pack(ftype, flags, stream, 0, channel, len(payload)) + payload


def window_payload(delta: int) -> bytes:
    """A WINDOW frame's payload: the credit increment."""
    return _U32.pack(delta)


def goaway_payload(code: int, reason: str) -> bytes:
    """A GOAWAY frame's payload: code and a UTF-8 reason (truncated to 1000 bytes)."""
    return _U32.pack(code) + reason.encode()[:1000]


_STREAMED = {FrameType.DATA, FrameType.WINDOW, FrameType.EOF}
_SESSION = {FrameType.PING, FrameType.GOAWAY}
_EXACT_LENGTH = {FrameType.WINDOW: 4, FrameType.PING: 8, FrameType.EOF: 0, FrameType.CLOSE: 0}


def check_header(ftype: int, flags: int, stream: int, reserved: int, channel: int, length: int, max_frame: int) -> None:
    """Validate one header (PROTOCOL.md §3) before its payload is read; raises ``AgentProtocolError``."""
    if reserved:
        raise AgentProtocolError(f"reserved header byte is {reserved}")
    if not 1 <= ftype <= len(FrameType):
        raise AgentProtocolError(f"unknown frame type {ftype}")
    if length > max_frame:
        raise AgentProtocolError(f"frame of {length} bytes exceeds max_frame {max_frame}")
    t = FrameType(ftype)
    if flags and not (t is FrameType.PING and flags == FLAG_ACK):
        raise AgentProtocolError(f"flags {flags:#x} not allowed on {t.name}")
    if stream > Stream.STDERR or (stream and t not in _STREAMED):
        raise AgentProtocolError(f"stream {stream} not allowed on {t.name}")
    if (t in _SESSION) != (channel == 0):
        raise AgentProtocolError(f"{t.name} on channel {channel}")
    want = _EXACT_LENGTH.get(t)
    if want is not None and length != want:
        raise AgentProtocolError(f"{t.name} frame of {length} bytes (want {want})")
    if t in (FrameType.OPEN, FrameType.MSG) and length == 0:
        raise AgentProtocolError(f"{t.name} frame without a payload")
    if t is FrameType.GOAWAY and length < 4:
        raise AgentProtocolError("GOAWAY frame shorter than its code")


class FrameDecoder:
    """Incremental decoder: ``feed`` bytes in any split, get validated frames out.

    DATA payloads are passed on in pieces as they arrive (a DATA frame may come out as several ``Frame``s of
    the same channel and stream whose payloads add up to the original): data is a byte stream, and not
    re-assembling it saves a copy per byte. Other frames come out whole. At most one header (12 bytes) and one
    control payload (bounded by ``max_frame``, checked as soon as its header is complete) are held.
    """

    def __init__(self, max_frame: int) -> None:
        self._max_frame = max_frame
        self._head = bytearray()
        self._cur: tuple[FrameType, int, int, int] | None = None  # type, flags, stream, channel
        self._left = 0
        self._body = bytearray()

    def feed(self, data: bytes) -> list[Frame]:
        """Consume ``data``; return the frames (and DATA pieces) it completes. Raises ``AgentProtocolError``."""
        frames: list[Frame] = []
        pos, n = 0, len(data)
        while pos < n or (self._cur is not None and self._left == 0):
            if self._cur is None:
                take = min(HEADER_SIZE - len(self._head), n - pos)
                self._head += data[pos : pos + take]
                pos += take
                if len(self._head) < HEADER_SIZE:
                    break
                self._start(_HEADER.unpack(self._head))
                self._head.clear()
                continue
            ftype, flags, stream, channel = self._cur
            take = min(self._left, n - pos)
            if ftype is FrameType.DATA:
                if take:
                    frames.append(Frame(ftype, channel, data[pos : pos + take], stream, flags))
            else:
                self._body += data[pos : pos + take]
            pos += take
            self._left -= take
            if self._left == 0:
                if ftype is not FrameType.DATA:
                    frames.append(Frame(ftype, channel, bytes(self._body), stream, flags))
                    self._body.clear()
                self._cur = None
        return frames

    def _start(self, header: tuple[int, int, int, int, int, int]) -> None:
        ftype, flags, stream, reserved, channel, length = header
        check_header(ftype, flags, stream, reserved, channel, length, self._max_frame)
        self._cur = (FrameType(ftype), flags, stream, channel)
        self._left = length

    @property
    def pending(self) -> int:
        """Bytes held for an incomplete header or control frame."""
        return len(self._head) + len(self._body)


def decode_msg(payload: bytes) -> dict[str, Any]:
    """A MSG payload: a JSON object with a string ``t``. Raises ``AgentProtocolError`` otherwise."""
    try:
        obj = json.loads(payload)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise AgentProtocolError(f"message is not JSON: {e}") from None
    if not isinstance(obj, dict) or not isinstance(obj.get("t"), str):
        raise AgentProtocolError("message is not a JSON object with a string 't'")
    return obj


def encode_json(obj: dict[str, Any]) -> bytes:
    """Compact JSON for OPEN and MSG payloads."""
    return json.dumps(obj, separators=(",", ":")).encode()


def read_u32(payload: bytes) -> int:
    """The u32 of a WINDOW or GOAWAY payload."""
    value: int = _U32.unpack_from(payload)[0]
    return value
