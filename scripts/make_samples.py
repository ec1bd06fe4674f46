"""Write the sample inputs Pillow makes: samples/invoice.png and samples/invoice-scanned.pdf.

Both are deterministic (same bytes on every run with the same Pillow): a white page with
black text in Pillow's bundled TrueType font, like a clean scan of a short invoice, and the
same image as a one-page PDF with no text layer (what a scanner writes). samples/photo.jpg
is not made here: see samples/README.md for where it comes from.

Run: .venv/bin/python scripts/make_samples.py
"""

from __future__ import annotations

import time
from pathlib import Path

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
    print(f"wrote {SAMPLES / 'invoice.png'} and {SAMPLES / 'invoice-scanned.pdf'}")


if __name__ == "__main__":
    main()
