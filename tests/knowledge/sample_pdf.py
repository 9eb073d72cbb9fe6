"""Builds the shipped PDF sample (198-KL/TW, quarterly evaluation): a text-layer PDF with wrapped lines.

Regenerate with `.venv/bin/python -m tests.knowledge.sample_pdf`; a test checks the committed file
still reads exactly as this script writes it.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

from tests.knowledge.files import make_text_pdf

SAMPLE_NAME = "kl-198-2025-danh-gia-can-bo-theo-quy.pdf"
SAMPLE_PATH = Path(__file__).resolve().parents[2] / "knowledge" / "samples" / SAMPLE_NAME

HEADER = [
    "VĂN BẢN MẪU MINH HỌA — không phải văn bản chính thức",
    "BAN CHẤP HÀNH TRUNG ƯƠNG\tĐẢNG CỘNG SẢN VIỆT NAM",
    "*",
    "Số 198-KL/TW\tHà Nội, ngày 8 tháng 10 năm 2025",
    "",
    "KẾT LUẬN",
    "về đánh giá cán bộ định kỳ theo quý",
    "",
]
PARAGRAPHS = [
    "Để đánh giá cán bộ thường xuyên, liên tục, gắn với kết quả thực hiện nhiệm vụ và sản phẩm cụ thể, "
    "kết luận như sau:",
    "1. Các cấp ủy, tổ chức đảng thực hiện đánh giá cán bộ định kỳ theo quý, bảo đảm thực chất, "
    "lượng hóa bằng tiêu chí, gắn với kết quả thực hiện nhiệm vụ được giao trong quý.",
    "2. Cơ quan, đơn vị tổng hợp kết quả đánh giá cán bộ trong quý và báo cáo cấp ủy, tổ chức đảng "
    "cấp trên trước ngày 15 của tháng cuối mỗi quý.",
    "3. Các cấp ủy, tổ chức đảng quán triệt và tổ chức thực hiện Kết luận này; trong quá trình thực hiện, "
    "nếu có vướng mắc, kịp thời báo cáo để xem xét, giải quyết.",
]
FOOTER = ["", "T/M BAN CHẤP HÀNH TRUNG ƯƠNG", "(mẫu minh họa)"]


def sample_lines(width: int = 88) -> list[str]:
    """The page lines: paragraphs wrapped as a word processor would print them."""
    lines = list(HEADER)
    for paragraph in PARAGRAPHS:
        lines.extend(textwrap.wrap(paragraph, width=width))
    return lines + FOOTER


def build_sample_pdf(path: Path) -> None:
    """Write the 198-KL/TW sample to `path`."""
    path.write_bytes(make_text_pdf([sample_lines()]))


if __name__ == "__main__":
    build_sample_pdf(SAMPLE_PATH)
    print(SAMPLE_PATH)
