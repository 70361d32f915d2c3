"""Websocket frames as the daemon writes them to its pages (RFC 6455 section 5.2).

A message for many pages is framed once and the same bytes are written to each page's
transport: a server's frames are not masked, so they do not differ from page to page.
Through aiohttp's ``send_str`` each page's write was a task of its own, re-encoding the
text and framing it again: the queues' waits to 2,050 pages each second cost ~65 ms of the
event loop (bench/README.md, many panels).
"""

from __future__ import annotations

import struct

FIN_TEXT = 0x81  # the final (only) fragment of a text message
PONG = b"\x8a\x00"  # an unsolicited pong, no payload: a one-way heartbeat (section 5.5.3)


def text_frame(text: str) -> bytes:
    """``text`` as one unfragmented, unmasked text frame."""
    payload = text.encode()
    length = len(payload)
    if length < 126:
        header = struct.pack("!BB", FIN_TEXT, length)
    elif length < 1 << 16:
        header = struct.pack("!BBH", FIN_TEXT, 126, length)
    else:
        header = struct.pack("!BBQ", FIN_TEXT, 127, length)
    return header + payload
