"""Builds the shipped DOCX sample (366-QĐ/TW) with python-docx: header table, Word numbering, points.

Regenerate with `.venv/bin/python -m tests.knowledge.sample_docx`; a test checks the committed file
still holds exactly what this script writes.
"""

from __future__ import annotations

from pathlib import Path

import docx

SAMPLE_NAME = "qd-366-2025-kiem-diem-danh-gia-hang-nam.docx"
SAMPLE_PATH = Path(__file__).resolve().parents[2] / "knowledge" / "samples" / SAMPLE_NAME

PARAGRAPHS_BEFORE: list[str] = [
    "Căn cứ Điều lệ Đảng;",
    "Căn cứ Quy chế làm việc của Ban Chấp hành Trung ương, Bộ Chính trị và Ban Bí thư khóa XIII,",
    "Bộ Chính trị quy định về kiểm điểm, đánh giá, xếp loại chất lượng đối với tập thể, cá nhân "
    "trong hệ thống chính trị như sau:",
]


def build_sample_docx(path: Path) -> None:
    """Write the 366-QĐ/TW sample to `path`."""
    document = docx.Document()
    document.add_paragraph("VĂN BẢN MẪU MINH HỌA — không phải văn bản chính thức")
    header = document.add_table(rows=1, cols=2)
    left, right = header.rows[0].cells
    left.text = "BAN CHẤP HÀNH TRUNG ƯƠNG"
    left.add_paragraph("*")
    left.add_paragraph("Số 366-QĐ/TW")
    right.text = "ĐẢNG CỘNG SẢN VIỆT NAM"
    right.add_paragraph("")
    right.add_paragraph("Hà Nội, ngày 30 tháng 8 năm 2025")
    document.add_paragraph("QUY ĐỊNH")
    document.add_paragraph(
        "về kiểm điểm, đánh giá, xếp loại chất lượng hằng năm đối với tập thể, cá nhân trong hệ thống chính trị"
    )
    for text in PARAGRAPHS_BEFORE:
        document.add_paragraph(text)

    document.add_paragraph("Chương I")
    document.add_paragraph("QUY ĐỊNH CHUNG")
    document.add_paragraph("Điều 1. Phạm vi điều chỉnh, đối tượng áp dụng")
    document.add_paragraph(
        "Quy định này quy định việc kiểm điểm, đánh giá, xếp loại chất lượng đối với tập thể, cá nhân "
        "trong hệ thống chính trị từ Trung ương đến cơ sở."
    )
    document.add_paragraph("Điều 2. Hình thức và thời điểm kiểm điểm, đánh giá")
    document.add_paragraph(
        "1. Kiểm điểm, đánh giá được thực hiện theo nhiệm kỳ, hằng năm, hằng quý hoặc khi cần thiết "
        "theo yêu cầu của cấp có thẩm quyền."
    )
    document.add_paragraph(
        "2. Kết quả đánh giá theo quý và các kỳ trong năm là cơ sở để đánh giá, xếp loại chất lượng cuối năm."
    )
    document.add_paragraph("Điều 3. Khung điểm đánh giá")
    document.add_paragraph(
        "Việc đánh giá cá nhân được lượng hóa theo thang điểm 100, căn cứ kết quả thực hiện nhiệm vụ "
        "và sản phẩm cụ thể trong kỳ đánh giá."
    )

    document.add_paragraph("Chương II")
    document.add_paragraph("XẾP LOẠI CHẤT LƯỢNG")
    document.add_paragraph("Điều 4. Mức xếp loại chất lượng cá nhân")
    # Word's automatic numbering: python-docx stores no "1." text, the loader must render it.
    document.add_paragraph(
        "Hoàn thành xuất sắc nhiệm vụ (HTXSNV): đạt từ 90 điểm trở lên, đồng thời đáp ứng các điều kiện sau:",
        style="List Number",
    )
    document.add_paragraph("a) Tất cả các nhiệm vụ được giao đều hoàn thành đúng tiến độ;")
    document.add_paragraph("b) Có ít nhất 30% nhiệm vụ hoàn thành vượt mức yêu cầu.")
    document.add_paragraph(
        "Hoàn thành tốt nhiệm vụ (HTTNV): đạt từ 70 điểm đến dưới 90 điểm.", style="List Number"
    )
    document.add_paragraph(
        "Hoàn thành nhiệm vụ (HTNV): đạt từ 50 điểm đến dưới 70 điểm.", style="List Number"
    )
    document.add_paragraph("Điều 5. Tỷ lệ xếp loại")
    table = document.add_table(rows=3, cols=2)
    rows = [
        ("Mức xếp loại", "Tỷ lệ tối đa"),
        ("Hoàn thành xuất sắc nhiệm vụ", "20% số được xếp loại hoàn thành tốt nhiệm vụ"),
        ("Các mức khác", "Không giới hạn"),
    ]
    for row, (first, second) in zip(table.rows, rows, strict=True):
        row.cells[0].text = first
        row.cells[1].text = second
    document.add_paragraph(
        "Số cá nhân được xếp loại hoàn thành xuất sắc nhiệm vụ không vượt quá 20% số được xếp loại "
        "hoàn thành tốt nhiệm vụ của cùng cơ quan, đơn vị."
    )

    document.add_paragraph("Chương III")
    document.add_paragraph("ĐIỀU KHOẢN THI HÀNH")
    document.add_paragraph("Điều 6. Hiệu lực thi hành")
    document.add_paragraph(
        "Quy định này có hiệu lực từ ngày ký, thay thế Quy định số 124-QĐ/TW, ngày 4/10/2023 của "
        "Bộ Chính trị về kiểm điểm, đánh giá, xếp loại chất lượng hằng năm đối với tập thể, cá nhân "
        "trong hệ thống chính trị."
    )
    document.add_paragraph("T/M BỘ CHÍNH TRỊ")
    document.add_paragraph("(mẫu minh họa)")
    document.core_properties.author = "canbo samples"
    document.save(str(path))


if __name__ == "__main__":
    build_sample_docx(SAMPLE_PATH)
    print(SAMPLE_PATH)
