"""Loading documents: every supported format becomes text with a title, every bad file a clear reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from impressox_pipelines.rag.documents import DocumentSkipped, discover_files, load_document
from impressox_pipelines.rag.library import collect_documents
from tests.helpers.paths import require_fixture
from tests.helpers.rag import minimal_pdf


def write(folder: Path, name: str, content: bytes | str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return path


def test_markdown_front_matter_title_and_mdx_lines_are_handled(tmp_path):
    path = write(tmp_path, "guide.mdx", "---\ntitle: Staking guide\n---\nimport Tip from '@site/tip';\n\n"
                                         "# Heading\n\nStake with [a validator](https://example.org) you trust.\n")
    doc = load_document(path)
    assert doc.title == "Staking guide"
    assert "import Tip" not in doc.text
    assert "Stake with a validator you trust." in doc.text  # link kept as its text, URL dropped
    assert doc.file_type == "markdown" and doc.source == str(path.resolve())
    assert doc.modified_at.tzinfo is not None


def test_html_text_and_title_without_scripts(tmp_path):
    path = write(tmp_path, "page.html", "<html><head><title>Bridge FAQ</title><script>var x=1;</script></head>"
                                        "<body><h1>Bridging</h1><p>Withdrawals take seven days.</p>"
                                        "<script>alert('no')</script></body></html>")
    doc = load_document(path)
    assert doc.title == "Bridge FAQ"
    assert "Withdrawals take seven days." in doc.text
    assert "alert" not in doc.text and "var x" not in doc.text


def test_pdf_text_is_extracted(tmp_path):
    doc = load_document(write(tmp_path, "rewards.pdf", minimal_pdf("Staking rewards are paid every epoch")))
    assert doc.file_type == "pdf"
    assert "Staking rewards are paid every epoch" in doc.text


def test_asciidoc_is_read_as_text_without_index_markup(tmp_path):
    path = write(tmp_path, "ch.asciidoc", '[[intro]]\n== Introduction\n\n((("bitcoin", "defined")))Bitcoin is money.\n')
    doc = load_document(path)
    assert doc.title == "Introduction"
    assert "Bitcoin is money." in doc.text and "(((" not in doc.text


def test_windows_1252_text_is_decoded_and_noted(tmp_path):
    doc = load_document(write(tmp_path, "legacy.txt", "Caf\u00e9 accepts \u20ac payments".encode("cp1252")))
    assert doc.text == "Caf\u00e9 accepts \u20ac payments"
    assert any("Windows-1252" in note for note in doc.notes)


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("empty.md", b"", "empty file"),
        ("blank.md", b"   \n\n\t\n", "no text left after parsing"),
        ("junk.md", bytes(range(256)) * 64, "binary content"),
        ("noise.md", bytes((i * 97 + 13) % 256 for i in range(20000) if (i * 97 + 13) % 256), "not UTF-8"),
        ("broken.pdf", b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R\n" + b"\x8f garbage" * 50,
         "PDF could not be parsed"),
        ("fake.pdf", b"this is not a pdf at all", "not a PDF"),
        ("huge.txt", b"a" * 5_000_000, "above the 2,000,000-byte limit"),
    ],
)
def test_bad_files_are_skipped_with_a_reason(tmp_path, name, content, reason):
    with pytest.raises(DocumentSkipped) as excinfo:
        load_document(write(tmp_path, name, content))
    assert reason in excinfo.value.reason


def test_a_folder_with_bad_files_still_yields_the_good_ones(tmp_path):
    write(tmp_path, "good.md", "# Gas\n\nGas fees are paid in ETH.\n")
    write(tmp_path, "nested/also-good.txt", "Rollups batch transactions.")
    write(tmp_path, "empty.md", b"")
    write(tmp_path, "one-line.txt", b"x" * 5_000_000)
    write(tmp_path, "junk.md", bytes(range(256)) * 8)
    write(tmp_path, "photo.png", b"\x89PNG")
    write(tmp_path, ".hidden/secret.md", "# not for the knowledge base")
    documents, skipped = collect_documents(tmp_path, {}, 2_000_000)
    assert sorted(Path(d.path).name for d in documents) == ["also-good.txt", "good.md"]
    reasons = {Path(s.source).name: s.reason for s in skipped}
    assert set(reasons) == {"empty.md", "one-line.txt", "junk.md", "photo.png"}
    assert reasons["photo.png"] == "unsupported file type '.png'"


def test_every_real_document_loads(tmp_path):
    folder = require_fixture("rag_docs")
    files, unsupported = discover_files(folder)
    documents = [load_document(path) for path in files]
    assert len(documents) == len(files) >= 10
    assert all(len(d.text) > 1000 and d.title for d in documents)
    titles = {Path(d.path).name: d.title for d in documents}
    assert titles["arb-token.md"] == "The $ARB token: A conceptual overview"  # from the Docusaurus front matter
    assert titles["ch02.asciidoc"] == "How Bitcoin Works"
    assert [Path(s.source).name for s in unsupported] == ["LICENSE"]
