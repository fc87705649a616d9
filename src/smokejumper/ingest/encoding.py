"""What a text file really is: its SHA-256, its encoding, and whether it is text at all.

One pass over the bytes computes the checksum (logged in ``_loads``) and checks UTF-8
validity (ASCII chunks take a fast path). Only when the bytes are not valid UTF-8 does a
slower look tell a file written in a legacy 8-bit encoding (latin-1, cp1252: transcoded
to a temporary UTF-8 file) from a UTF-8 file with a few corrupt lines (kept as UTF-8 so
that DuckDB rejects exactly those lines, with their line numbers).
"""

from __future__ import annotations

import codecs
import hashlib
from dataclasses import dataclass
from pathlib import Path

from smokejumper.errors import IngestError

_CHUNK = 8 << 20
_HEAD = 1 << 20
#: C0 control bytes that never occur in text (tab, LF, CR and form feed excluded)
_CONTROL = bytes(b for b in range(32) if b not in (9, 10, 12, 13)) + b"\x7f"
_CONTROL_TABLE = bytes.maketrans(_CONTROL, b"\x00" * len(_CONTROL))
#: encodings DuckDB's CSV reader understands without the encodings extension
_NATIVE = {"utf-8": "utf-8", "utf-8-sig": "utf-8", "latin-1": "latin-1"}
_LEGACY = ("cp1252", "latin_1", "iso8859_15", "cp1250", "iso8859_2", "mac_roman", "cp850")


@dataclass(frozen=True)
class TextFile:
    """A text file ready for DuckDB: where to read it and in which encoding."""

    source: Path
    sha256: str
    encoding: str
    """the encoding of the source file (``utf-8``, ``utf-8-sig``, ``utf-16``, ``cp1252``...)"""
    read_path: Path
    """the file DuckDB reads: the source, or a UTF-8 copy of it"""
    read_encoding: str
    """the ``encoding`` option for DuckDB's reader"""
    head: str
    """the first megabyte or so, decoded (for sniffing the header)"""
    has_blank_lines: bool = False
    """whether any line is empty (DuckDB skips those but counts them in line numbers)"""


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file, read in large chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def blank_line_numbers(path: Path) -> list[int]:
    """Physical numbers of the empty lines of a file, streaming (only asked when it has any)."""
    numbers: list[int] = []
    with path.open("rb") as handle:
        for number, line in enumerate(handle, 1):
            if line in (b"\n", b"\r\n"):
                numbers.append(number)
    return numbers


def _is_binary_line(line: bytes) -> bool:
    return line.translate(_CONTROL_TABLE).count(0) > 0


def _bom_encoding(head: bytes) -> str | None:
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        return "utf-32"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    return None


def _bomless_utf16(head: bytes) -> str | None:
    """UTF-16 without a byte-order mark: text whose every other byte is zero."""
    sample = head[:4096]
    if len(sample) < 8:
        return None
    even_zero = sample[0::2].count(0) / len(sample[0::2])
    odd_zero = sample[1::2].count(0) / len(sample[1::2])
    if odd_zero > 0.4 and even_zero < 0.05:
        return "utf-16-le"
    if even_zero > 0.4 and odd_zero < 0.05:
        return "utf-16-be"
    return None


def inspect_text_file(path: Path, workdir: Path) -> TextFile:
    """Checksum, encoding and a decoded head of a CSV or JSON Lines file.

    Raises :class:`IngestError` for an empty or binary file. A file in an encoding DuckDB
    cannot read natively is transcoded to UTF-8 under ``workdir``.
    """
    digest = hashlib.sha256()
    decoder = codecs.getincrementaldecoder("utf-8")()
    valid_utf8 = True
    head = b""
    blank = False
    tail = b"\n"  # a first line that is empty counts as blank
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
            if not blank:
                seam = tail + chunk[:2]
                blank = (b"\n\n" in seam or b"\n\r\n" in seam or b"\n\n" in chunk
                         or b"\n\r\n" in chunk)
                tail = chunk[-2:]
            if len(head) < _HEAD:
                head += chunk[: _HEAD - len(head)]
            if valid_utf8 and (not chunk.isascii() or decoder.getstate()[0]):
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError:
                    valid_utf8 = False
    if valid_utf8:
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            valid_utf8 = False
    sha256 = digest.hexdigest()
    if not head.strip():
        raise IngestError(f"{path.name}: the file is empty")

    encoding = _bom_encoding(head) or _bomless_utf16(head)
    if encoding is None:
        _refuse_binary(path, head)
        encoding = "utf-8" if valid_utf8 else _guess_legacy_encoding(path)
    if encoding in ("latin-1", "utf-8", "utf-8-sig"):
        text_head = head.decode(encoding if encoding != "utf-8-sig" else "utf-8-sig",
                                errors="replace")
        return TextFile(path, sha256, encoding, path, _NATIVE[encoding], text_head, blank)
    target = workdir / f"{path.stem}.{sha256[:12]}.utf8{path.suffix}"
    _transcode(path, encoding, target)
    with target.open("rb") as handle:
        text_head = handle.read(_HEAD).decode("utf-8", errors="replace")
    return TextFile(path, sha256, encoding, target, "utf-8", text_head, blank)


def _refuse_binary(path: Path, head: bytes) -> None:
    """One clear error for a file that is not text (an image, an archive, a spreadsheet)."""
    if head.startswith((b"PK\x03\x04", b"PAR1", b"\x89PNG", b"%PDF", b"\xd0\xcf\x11\xe0",
                        b"\x1f\x8b", b"SQLite format")):
        raise IngestError(f"{path.name}: this is a binary file (an archive, spreadsheet, "
                          "image or database), not a CSV or JSON Lines text file")
    lines = head.splitlines()[:-1] or head.splitlines()
    first = lines[0] if lines else b""
    binary = sum(1 for line in lines if _is_binary_line(line))
    if _is_binary_line(first) or (lines and binary / len(lines) > 0.3):
        raise IngestError(f"{path.name}: this is a binary file, not a CSV or JSON Lines text "
                          f"file ({binary} of the first {len(lines)} lines hold binary bytes)")


def _guess_legacy_encoding(path: Path) -> str:
    """UTF-8 with a few corrupt lines, or a file written in a legacy 8-bit encoding?

    If any line holds valid multi-byte UTF-8, or every undecodable line is binary junk,
    the file is UTF-8 and the bad lines will be rejected. Otherwise charset-normalizer
    names the 8-bit encoding of the undecodable lines (cp1252 when unsure).
    """
    utf8_multibyte = False
    text_lines: list[bytes] = []
    with path.open("rb") as handle:
        for line in handle:
            if line.isascii():
                continue
            try:
                line.decode("utf-8")
                utf8_multibyte = True
                break
            except UnicodeDecodeError:
                if not _is_binary_line(line) and sum(map(len, text_lines)) < _HEAD:
                    text_lines.append(line)
    if utf8_multibyte or not text_lines:
        return "utf-8"
    sample = b"".join(text_lines)
    from charset_normalizer import from_bytes

    # ties (common on short samples) go to the most widespread encoding, in _LEGACY order;
    # a match also names the encodings that decode the bytes to the same text
    def preference(name: str) -> int:
        return _LEGACY.index(name) if name in _LEGACY else len(_LEGACY)

    ranked = sorted(from_bytes(sample, cp_isolation=list(_LEGACY)),
                    key=lambda m: (round(m.chaos, 3), -round(m.coherence, 3),
                                   min(map(preference, m.could_be_from_charset))))
    guess = min(ranked[0].could_be_from_charset, key=preference) if ranked else "cp1252"
    if guess in ("latin_1", "cp1252") and not any(0x80 <= b <= 0x9F for b in sample):
        return "latin-1"  # identical to cp1252 for these bytes, and DuckDB reads it natively
    return guess


def _transcode(source: Path, encoding: str, target: Path) -> None:
    """Write ``source`` as UTF-8, streaming; bytes the encoding lacks become U+FFFD."""
    decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
    with source.open("rb") as src, target.open("w", encoding="utf-8", newline="") as dst:
        while chunk := src.read(_CHUNK):
            dst.write(decoder.decode(chunk))
        dst.write(decoder.decode(b"", final=True))
