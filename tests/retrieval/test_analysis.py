"""Vietnamese analysis for the lexical index and BM25 scoring."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from retrieval.analysis import analyse, expand_abbreviations, fold, has_diacritics, strip_diacritics
from retrieval.lexical import BM25Field


def test_strip_diacritics_maps_every_mark_and_d() -> None:
    assert strip_diacritics("đánh giá cán bộ hằng tháng") == "danh gia can bo hang thang"
    assert strip_diacritics("ĐẢNG ỦY") == "DANG UY"


def test_old_style_tone_placement_is_folded() -> None:
    assert fold("Thành uỷ Hoà Bình") == fold("thành ủy hòa bình")


def test_has_diacritics_tells_phone_typing_apart() -> None:
    assert not has_diacritics("danh gia can bo hang thang")
    assert has_diacritics("đánh giá")


def test_abbreviations_expand_in_capitals_or_with_d() -> None:
    expanded = expand_abbreviations("Quy định của BTV về CB, CC và HĐND; qđ 65")
    for phrase in ("ban thường vụ", "cán bộ", "công chức", "hội đồng nhân dân", "quyết định"):
        assert phrase in expanded
    # lower-case two-letter syllables are ordinary words, not abbreviations
    assert expand_abbreviations("cc tu") == "cc tu"


def test_analyse_gives_words_accent_free_syllables_and_bigrams() -> None:
    tokens = analyse("Đánh giá cán bộ hằng tháng")
    assert "đánh_giá" in tokens.words and "cán_bộ" in tokens.words
    assert tokens.syllables == ["danh", "gia", "can", "bo", "hang", "thang"]
    assert "can_bo" in tokens.bigrams
    plain = analyse("danh gia can bo hang thang", segment=False)
    assert plain.words == [] and plain.syllables == tokens.syllables


def test_bm25_ranks_the_matching_document_first() -> None:
    field = BM25Field([["luan", "chuyen", "can", "bo"], ["danh", "gia", "hang", "thang"], ["can", "bo"]])
    scores = field.score(["danh", "gia"])
    assert scores.argmax() == 1 and scores[0] == 0 and scores[2] == 0
    assert field.score(["unknown"]).sum() == 0


def test_diacritics_are_restored_from_the_indexed_texts() -> None:
    from retrieval.analysis import DiacriticRestorer, marked_syllables

    texts = [
        "Thời gian luân chuyển cán bộ ít nhất là 3 năm.",
        "Người đứng đầu quyết định xếp loại hằng tháng.",
        "Cán bộ tự đánh giá vào cuối tháng.",
    ]
    restorer = DiacriticRestorer(marked_syllables(analyse(t).words) for t in texts)
    assert restorer.restore("thoi gian luan chuyen can bo") == "thời gian luân chuyển cán bộ"
    assert restorer.restore("ai quyet dinh xep loai hang thang") == "ai quyết định xếp loại hằng tháng"
    assert restorer.restore("Đã có dấu") == "Đã có dấu"  # typed with marks: untouched


def test_how_many_typed_without_marks_is_read_where_the_texts_put_numbers() -> None:
    from retrieval.analysis import DiacriticRestorer, marked_syllables

    texts = [
        "Sắp xếp tổ chức bộ máy tinh gọn; bộ máy hoạt động hiệu quả; kiện toàn bộ máy.",
        "Thời gian tập sự là 12 tháng. Mỗi ban thường vụ có ít nhất 01 ủy viên dưới 40 tuổi.",
        "Hội đồng có 05 thành viên. Được nghỉ 05 ngày.",
    ]
    restorer = DiacriticRestorer(marked_syllables(analyse(t).words) for t in texts)
    assert restorer.restore("tap su may thang") == "tập sự mấy tháng"
    assert restorer.restore("co it nhat may uy vien") == "có ít nhất mấy ủy viên"
    assert restorer.restore("sap xep bo may") == "sắp xếp bộ máy"  # "máy" stays where the texts write it


def test_word_segmentation_leaves_no_model_copy_in_the_temp_dir(tmp_path: Path) -> None:
    """pyvi's CRF model is unpickled through a temp file; a long-running server must not collect one per start."""
    script = (
        "from retrieval.analysis import analyse; print(analyse('cán bộ được bổ nhiệm lại mấy lần').words)"
    )
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300
    )
    assert result.returncode == 0, result.stderr
    assert "bổ_nhiệm" in result.stdout  # the tagger worked after its file was removed
    assert list(tmp_path.glob("*.crfsuite")) == []
