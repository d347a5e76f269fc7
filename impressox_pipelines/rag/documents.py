"""Loading knowledge documents from files: validated, parsed to plain text, with source, title and mtime.

Formats (by extension): Markdown/MDX (llama-index `MarkdownReader`'s section parsing, after dropping
YAML front matter and MDX `import`/`export` lines), plain text, AsciiDoc (read as text, with index-term
and anchor markup removed), HTML (BeautifulSoup, as llama-index's `HTMLTagReader` does, but over the
whole page), PDF (llama-index `PDFReader` on pypdf).

Every file either becomes a `LoadedDocument` or raises `DocumentSkipped` with a reason a person can act
on: empty, too large, binary content, undecodable text, unparseable PDF, nothing left after parsing.
Text that is not UTF-8 but is valid Windows-1252 (the usual legacy encoding) is decoded as such and
the fact is kept in `notes`.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

# Extension → format. Anything else in a folder is skipped as an unsupported type.
FORMATS: dict[str, str] = {
    ".md": "markdown",
    ".markdown": "markdown",
    ".mdx": "markdown",
    ".txt": "text",
    ".text": "text",
    ".adoc": "asciidoc",
    ".asciidoc": "asciidoc",
    ".html": "html",
    ".htm": "html",
    ".pdf": "pdf",
}

# Larger files are skipped: a 2 MB text is ~500k tokens, i.e. ~2,500 chunks, far beyond any real
# knowledge document here, and usually a dump or a generated file.
DEFAULT_MAX_DOCUMENT_BYTES = 2_000_000
# A text whose share of control characters is above this is binary data with a text extension.
_MAX_CONTROL_SHARE = 0.02
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")
_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.DOTALL)
_MDX_LINE = re.compile(r"^(?:import|export)\s.*$", re.MULTILINE)
_MD_HEADING = re.compile(r"^#\s+(.+?)\s*#*\s*$", re.MULTILINE)
_ADOC_TITLE = re.compile(r"^={1,6}\s+(.+?)\s*$", re.MULTILINE)
_ADOC_INDEX_TERM = re.compile(r"\({2,3}[^\n]*?\){2,3}")
_ADOC_BLOCK_ATTR = re.compile(r"^\s*(?:\[\[[^\]]*\]\]|\[[^\]\n]*\])\s*$", re.MULTILINE)
_BLANK_RUNS = re.compile(r"\n\s*\n(\s*\n)+")


class DocumentSkipped(Exception):
    """A file that cannot be ingested; `reason` says why in words a person can act on."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class SkippedInput:
    """An input left out of the knowledge base, with the reason."""

    source: str
    reason: str


@dataclass
class LoadedDocument:
    """One document as plain text.

    `source` is its stable identity (the absolute file path, or the URL it was fetched from);
    `modified_at` is the file's mtime in UTC; `content_hash` is the SHA-256 of `text`.
    """

    source: str
    path: str
    title: str
    text: str
    file_type: str
    modified_at: datetime
    size_bytes: int
    url: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def content_hash(self) -> str:
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()

    def to_record(self) -> dict[str, Any]:
        """The MongoDB document (`_id` = source) stored by the `knowledge_documents` asset."""
        return {
            "_id": self.source,
            "source": self.source,
            "path": self.path,
            "url": self.url,
            "title": self.title,
            "text": self.text,
            "file_type": self.file_type,
            "modified_at": self.modified_at,
            "size_bytes": self.size_bytes,
            "content_hash": self.content_hash,
            "notes": self.notes,
        }


def discover_files(folder: Path) -> tuple[list[Path], list[SkippedInput]]:
    """Files under `folder` (recursively, sorted; hidden files and folders ignored).

    Returns the supported files and the unsupported ones as skipped inputs.

    Raises:
        FileNotFoundError: when `folder` is not a directory.
    """
    if not folder.is_dir():
        raise FileNotFoundError(f"knowledge documents folder {folder} does not exist")
    supported, skipped = [], []
    for path in sorted(folder.rglob("*")):
        if not path.is_file() or any(part.startswith(".") for part in path.relative_to(folder).parts):
            continue
        if path.suffix.lower() in FORMATS:
            supported.append(path)
        else:
            skipped.append(SkippedInput(str(path.resolve()), f"unsupported file type {path.suffix or '(none)'!r}"))
    return supported, skipped


def load_document(
    path: Path,
    *,
    source: str | None = None,
    url: str | None = None,
    title: str | None = None,
    max_bytes: int = DEFAULT_MAX_DOCUMENT_BYTES,
) -> LoadedDocument:
    """Read and parse one file.

    Args:
        path: the file.
        source: identity to record (default: the absolute path).
        url: where the backend fetched it from, when it did.
        title: a title to use instead of the one found in the file.
        max_bytes: files larger than this are skipped.

    Raises:
        DocumentSkipped: with the reason, for every file that cannot be ingested.
    """
    path = path.expanduser()
    try:
        stat = path.stat()
    except OSError as exc:
        raise DocumentSkipped(f"cannot read file: {exc.strerror or exc}") from None
    if not path.is_file():
        raise DocumentSkipped("not a regular file")
    file_type = FORMATS.get(path.suffix.lower())
    if file_type is None:
        raise DocumentSkipped(f"unsupported file type {path.suffix or '(none)'!r}")
    if stat.st_size == 0:
        raise DocumentSkipped("empty file")
    if stat.st_size > max_bytes:
        raise DocumentSkipped(f"file is {stat.st_size:,} bytes, above the {max_bytes:,}-byte limit")
    notes: list[str] = []
    if file_type == "pdf":
        text, found_title = _parse_pdf(path)
    else:
        raw = path.read_bytes()
        decoded = _decode_text(raw, notes)
        text, found_title = _PARSERS[file_type](decoded)
    text = _BLANK_RUNS.sub("\n\n", text).strip()
    if sum(ch.isalnum() for ch in text) < 3:
        raise DocumentSkipped("no text left after parsing")
    return LoadedDocument(
        source=source or str(path.resolve()),
        path=str(path.resolve()),
        title=(title or found_title or path.stem.replace("_", " ").replace("-", " ")).strip()[:300],
        text=text,
        file_type=file_type,
        modified_at=datetime.fromtimestamp(stat.st_mtime, UTC),
        size_bytes=stat.st_size,
        url=url,
        notes=notes,
    )


def _decode_text(raw: bytes, notes: list[str]) -> str:
    if b"\x00" in raw[:65536]:
        raise DocumentSkipped("binary content (NUL bytes) in a text file")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        try:
            text = raw.decode("cp1252")
        except UnicodeDecodeError:
            raise DocumentSkipped(
                f"not UTF-8 (invalid byte at offset {exc.start}) and not Windows-1252 text"
            ) from None
        notes.append(f"not valid UTF-8 (invalid byte at offset {exc.start}); decoded as Windows-1252")
    controls = len(_CONTROL.findall(text))
    if text and controls / len(text) > _MAX_CONTROL_SHARE:
        raise DocumentSkipped(f"binary content ({controls} control characters) in a text file")
    return text


def _parse_markdown(text: str) -> tuple[str, str | None]:
    from llama_index.readers.file import MarkdownReader

    title = None
    match = _FRONT_MATTER.match(text)
    if match:
        title = _front_matter_title(match.group(1))
        text = text[match.end():]
    text = _MDX_LINE.sub("", text)
    if title is None:
        heading = _MD_HEADING.search(text)
        title = heading.group(1) if heading else None
    reader = MarkdownReader(remove_hyperlinks=True, remove_images=True)
    content = reader.remove_images(reader.remove_hyperlinks(text))
    sections = [f"{header}\n{body}" if header else body for header, body in reader.markdown_to_tups(content)]
    return "\n\n".join(section.strip() for section in sections if section.strip()), title


def _front_matter_title(block: str) -> str | None:
    import yaml

    try:
        data = yaml.safe_load(block)
    except yaml.YAMLError:
        return None
    if isinstance(data, dict):
        for key in ("title", "sidebar_label"):
            if isinstance(data.get(key), str) and data[key].strip():
                return data[key].strip()
    return None


def _parse_text(text: str) -> tuple[str, str | None]:
    return text, None


def _parse_asciidoc(text: str) -> tuple[str, str | None]:
    heading = _ADOC_TITLE.search(text)
    text = _ADOC_INDEX_TERM.sub("", text)
    text = _ADOC_BLOCK_ATTR.sub("", text)
    return text, heading.group(1) if heading else None


def _parse_html(text: str) -> tuple[str, str | None]:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(text, "html.parser")
    title = soup.title.get_text(strip=True) if soup.title else None
    for tag in soup(["script", "style", "noscript", "template", "head"]):
        tag.decompose()
    body = soup.body or soup
    lines = (line.strip() for line in body.get_text("\n").splitlines())
    return "\n".join(line for line in lines if line), title or None


def _parse_pdf(path: Path) -> tuple[str, str | None]:
    from llama_index.readers.file import PDFReader

    with path.open("rb") as handle:
        if not handle.read(1024).lstrip().startswith(b"%PDF-"):
            raise DocumentSkipped("not a PDF (no %PDF- header)")
    try:
        pages = PDFReader(return_full_document=True).load_data(path)
    except Exception as exc:  # noqa: BLE001 - pypdf raises many types for broken files
        cause = exc.last_attempt.exception() if hasattr(exc, "last_attempt") else exc
        raise DocumentSkipped(f"PDF could not be parsed: {type(cause).__name__}: {str(cause)[:200]}") from None
    return "\n\n".join(page.text for page in pages), None


_PARSERS = {
    "markdown": _parse_markdown,
    "text": _parse_text,
    "asciidoc": _parse_asciidoc,
    "html": _parse_html,
}
