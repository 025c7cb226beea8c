"""Register image: per-scan snapshots, Modbus codecs, quality words and the shared write rule (pure)."""

from plc_emulator.image.codec import PointRef, PointRole, RegisterImage, decode_words, encode_words
from plc_emulator.image.quality import quality_word, quality_words, ua_from_quality_word
from plc_emulator.image.snapshot import RunDigest, Snapshot
from plc_emulator.image.writes import validate_write

__all__ = [
    "PointRef",
    "PointRole",
    "RegisterImage",
    "RunDigest",
    "Snapshot",
    "decode_words",
    "encode_words",
    "quality_word",
    "quality_words",
    "ua_from_quality_word",
    "validate_write",
]
