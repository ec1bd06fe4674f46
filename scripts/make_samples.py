"""Write the generated samples: samples/invoice.png, samples/invoice-scanned.pdf (Pillow) and
samples/contract.pdf (a PDF with a text layer, by the tests' minimal PDF writer).

Both are deterministic (same bytes on every run with the same Pillow): a white page with
black text in Pillow's bundled TrueType font, like a clean scan of a short invoice, and the
same image as a one-page PDF with no text layer (what a scanner writes). samples/photo.jpg
is not made here: see samples/README.md for where it comes from.

Run: .venv/bin/python scripts/make_samples.py
"""

from __future__ import annotations

import importlib.util
import time
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageFont

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"

#: The invoice's lines, top to bottom: (text, font size in pixels, extra space above).
INVOICE_LINES = [
    ("ACME Office Supplies Ltd.", 44, 0),
    ("INVOICE INV-2041", 40, 30),
    ("Date: 12 March 2024", 32, 10),
    ("Customer: Example Corp", 32, 0),
    ("10 x Paper boxes        1,000.00 EUR", 32, 40),
    ("2 x Toner cartridges      234.00 EUR", 32, 0),
    ("Total: 1,234.00 EUR", 40, 40),
]
#: A two-page agreement with parties, dates, amounts and an e-mail address, as text.
CONTRACT_PAGES = [
    [
        "SERVICE AGREEMENT",
        "This agreement is made on 1 April 2025 between",
        "Northwind Traders Ltd and Contoso Consulting LLC.",
        "Contoso will deliver a data migration for Northwind.",
        "The fixed fee is 18,500.00 USD, payable in two parts.",
        "Questions: legal@northwind.example.com",
    ],
    [
        "PAYMENT TERMS",
        "The first payment of 9,250.00 USD is due on 15 April 2025.",
        "The second payment is due on 30 June 2025.",
        "We are very pleased to start this project together.",
    ],
]
PAGE_SIZE = (1240, 880)
MARGIN = 90
#: Pixels per inch the PDF is written at: the page is then 6.2 x 4.4 inches.
PDF_RESOLUTION = 200.0
FIXED_DATE = time.strptime("2024-03-12", "%Y-%m-%d")


def invoice_image() -> Image.Image:
    image = Image.new("L", PAGE_SIZE, 255)
    draw = ImageDraw.Draw(image)
    top = MARGIN
    for text, size, space in INVOICE_LINES:
        top += space
        font = ImageFont.load_default(size=size)
        draw.text((MARGIN, top), text, fill=0, font=font)
        top += int(size * 1.5)
    return image


def main() -> None:
    SAMPLES.mkdir(exist_ok=True)
    image = invoice_image()
    image.save(SAMPLES / "invoice.png", optimize=True)
    image.convert("RGB").save(
        SAMPLES / "invoice-scanned.pdf",
        "PDF",
        resolution=PDF_RESOLUTION,
        quality=90,
        # Fixed dates: Pillow writes the current time otherwise, and the file would change.
        creationDate=FIXED_DATE,
        modDate=FIXED_DATE,
    )
    (SAMPLES / "contract.pdf").write_bytes(_pdfs().make_pdf(*CONTRACT_PAGES))
    print(f"wrote invoice.png, invoice-scanned.pdf and contract.pdf in {SAMPLES}")


def _pdfs() -> Any:
    """tests/providers/pdfs.py: writes PDFs with a text layer by hand (no PDF library)."""
    spec = importlib.util.spec_from_file_location("pdfs", ROOT / "tests" / "providers" / "pdfs.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


if __name__ == "__main__":
    main()
