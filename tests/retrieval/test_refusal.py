"""Refusing questions the loaded texts do not answer: content words, concept gaps, the real engine on the samples."""

from __future__ import annotations

from pathlib import Path

import pytest

import knowledge
from retrieval import QAEngine, make_engine, wording
from retrieval.analysis import has_diacritics, is_vietnamese_word, question_terms
from retrieval.coverage import (
    REFUSAL_FEATURES,
    Streams,
    absent_terms,
    gap,
    opposite_bound,
    refusal_logit,
    unit_streams,
)
from retrieval.embedding import Embedder
from retrieval.query import read_query
from tests.retrieval.corpus import make_doc


@pytest.fixture(scope="module")
def samples(module_dir: Path, e5: Embedder) -> QAEngine:
    engine = make_engine(index_dir=module_dir, embedder=e5)
    outcomes = engine.ingest_paths(knowledge.sample_corpus_paths())
    assert all(o.status == "added" for o in outcomes)
    return engine


# --- content words of a question (pure) ---------------------------------------------------------------


def test_question_words_numbers_and_abbreviations_are_not_content_words() -> None:
    terms = question_terms("Theo QĐ 65-QĐ/TW, CB đi luân chuyển phải còn bao nhiêu năm công tác?")
    assert [t.text for t in terms] == ["luân chuyển", "năm", "công tác"]
    assert [t.syllables for t in terms] == [("luan", "chuyen"), ("nam",), ("cong", "tac")]


def test_compounds_stay_whole_and_real_words_are_well_formed() -> None:
    terms = {t.text: t for t in question_terms("Phụ cấp thu hút cho cán bộ luân chuyển là bao nhiêu?")}
    assert {"phụ cấp", "thu hút", "cán bộ", "luân chuyển"} <= set(terms)
    assert all(t.well_formed for t in terms.values())
    assert "bao nhiêu" not in terms and "là" not in terms


def test_typos_are_not_well_formed_words() -> None:
    terms = {t.text: t for t in question_terms("ai quyết địng xếp loại tháng cho công chứt")}
    assert not terms["địng"].well_formed and not terms["chứt"].well_formed
    assert terms["xếp"].well_formed
    assert not is_vietnamese_word("côg") and is_vietnamese_word("nhà ở")


def test_accent_free_questions_compare_function_words_without_marks() -> None:
    # The restored form of "bao nhieu" may read "báo nhiều": it is still a question phrase.
    terms = question_terms("cán bộ luân chuyển báo nhiều năm", accent_free=True)
    assert [t.text for t in terms] == ["cán bộ", "luân chuyển", "năm"]
    assert all(t.accent_free for t in terms)
    assert is_vietnamese_word("phu cap", accent_free=True) and not is_vietnamese_word("qxw", accent_free=True)


def test_neighbours_are_the_pairs_around_a_word() -> None:
    (term,) = [t for t in question_terms("hoàn thành xuất sắt nhiệm vụ") if t.text == "sắt"]
    assert term.neighbours == (("xuat", "sat"), ("sat", "nhiem"))


def test_a_compound_of_function_syllables_is_kept_when_it_is_a_word() -> None:
    assert [t.text for t in question_terms("Có được hỗ trợ đi lại không?")] == ["hỗ trợ", "đi lại"]
    assert [t.text for t in question_terms("Có thể làm gì?")] == ["làm"]


def test_refusal_logit_adds_evidence_linearly() -> None:
    weights = (-10.0, 1.0, 2.0)
    assert refusal_logit((0.9, 0.0, 0.0), intercept=10.0, weights=weights) == pytest.approx(1.0)
    assert refusal_logit((0.9, 2.0, 1.0), intercept=10.0, weights=weights) == pytest.approx(5.0)


# --- concept gaps against a small hand-made index -----------------------------------------------------


def test_concept_gaps_tell_typos_from_missing_words(tmp_path: Path, e5: Embedder) -> None:
    engine = make_engine(index_dir=tmp_path, embedder=e5)
    doc = make_doc(
        doc_id="xl",
        number="7-QĐ/TU",
        title="về xếp loại chất lượng",
        articles=[
            (
                "Mức xếp loại",
                ["Cán bộ hoàn thành xuất sắc nhiệm vụ khi đạt từ 90 điểm; chất lượng được công khai."],
            ),
            ("Khen thưởng", ["Tập thể tiêu biểu được đề nghị khen thưởng cuối năm."]),
        ],
    )
    engine.ingest_documents([doc])
    snapshot = engine._snapshot
    first = 0  # units follow article order within the only document

    def gaps(question: str) -> tuple[list[str], list[str]]:
        g = gap(snapshot, question_terms(question), unit_streams(snapshot, [first]))
        return [t.text for t in g.missing], [t.text for t in absent_terms(snapshot, g.missing)]

    assert gaps("Cán bộ hoàn thành xuất sắc nhiệm vụ cần bao nhiêu điểm?") == ([], [])
    # A wrong mark that makes another real syllable ("sặc") is recognised by its neighbours;
    # "lương" is not "lượng" (missing here, though not absent: the index has "luong" without marks).
    assert gaps("hoàn thành xuất sặc nhiệm vụ") == ([], [])
    assert gaps("Cán bộ xuất sắc có được nâng lương không?") == (["nâng", "lương"], ["nâng"])
    # "khen thưởng" is in the index, only not in this unit: missing but not absent.
    assert gaps("Cán bộ xuất sắc có được khen thưởng không?") == (["khen thưởng"], [])
    # A malformed word that the index lacks says nothing either way.
    assert gaps("cán bộ xuất sắc nhiệm vụ đươc bao nhiêu điễm") == ([], [])
    g = gap(
        snapshot, question_terms("Cán bộ xuất sắc có được nâng lương không?"), unit_streams(snapshot, [first])
    )
    assert 0.0 < g.share < 1.0


def test_a_bound_is_covered_by_the_way_the_text_states_it(tmp_path: Path, e5: Embedder) -> None:
    """«tối đa» is what «không quá» states, «tối thiểu» what «ít nhất» states: a question asking for the
    bound is covered by the article that sets it, and not by one that sets none."""
    engine = make_engine(index_dir=tmp_path, embedder=e5)
    doc = make_doc(
        doc_id="kn",
        number="9-QĐ/TU",
        title="về kiêm nhiệm chức danh",
        articles=[
            (
                "Kiêm nhiệm",
                ["Mỗi cán bộ kiêm nhiệm không quá 03 chức danh và phải công tác ít nhất 05 năm tại đơn vị."],
            ),
            ("Phân công", ["Cán bộ kiêm nhiệm chức danh do cấp ủy phân công."]),
            ("Tái cử", ["Bí thư được tái cử tối đa hai lần liên tiếp."]),
        ],
    )
    engine.ingest_documents([doc])
    snapshot = engine._snapshot

    def missing(question: str, unit: int) -> list[str]:
        terms = read_query(question, snapshot.restorer).terms
        return [t.text for t in gap(snapshot, terms, unit_streams(snapshot, [unit])).missing]

    assert missing("Mỗi cán bộ được kiêm nhiệm tối đa bao nhiêu chức danh?", 0) == []
    assert missing("Cán bộ phải công tác tối thiểu bao nhiêu năm tại đơn vị?", 0) == []
    assert missing("moi can bo duoc kiem nhiem toi da bao nhieu chuc danh", 0) == []
    assert missing("Mỗi cán bộ được kiêm nhiệm tối đa bao nhiêu chức danh?", 1) == ["tối đa"]
    # the question's own words still count first: «tối đa» written as such in the text
    assert missing("Bí thư được tái cử tối đa mấy lần?", 2) == []
    # an equivalent found in the index is not a concept the loaded texts lack
    terms = read_query("Cán bộ kiêm nhiệm tối đa bao nhiêu chức danh?", snapshot.restorer).terms
    assert absent_terms(snapshot, terms) == []


def test_the_other_kind_of_bound_is_told_from_a_range_that_states_both() -> None:
    def bound(question: str, text: str) -> str | None:
        terms = [
            t
            for t in question_terms(question, accent_free=not has_diacritics(question))
            if t.text in {"tối đa", "toi da", "tối thiểu"}
        ]
        assert len(terms) == 1, terms
        return opposite_bound(Streams.of([text]), terms[0])

    asked = "Người vi phạm bị phạt tù tối đa bao nhiêu năm?"
    assert bound(asked, "Thời gian luân chuyển ít nhất là 3 năm.") == "ít nhất"
    assert bound(asked, "Thời gian thử thách không dưới 01 năm.") == "không dưới"
    assert (
        bound(asked, "Người vi phạm bị phạt tù không quá 03 năm.") is None
    )  # the bound asked, said another way
    assert (
        bound(asked, "Bị phạt tù từ 06 tháng đến 03 năm, nếu gây thiệt hại từ 100.000.000 đồng trở lên.")
        is None
    )
    assert (
        bound(asked, "Bị phạt tù từ một năm đến năm năm khi gây thiệt hại từ 50 triệu đồng trở lên.") is None
    )
    assert (
        bound("Thời gian tập sự tối thiểu là bao lâu?", "Thời gian tập sự không quá 12 tháng.") == "không quá"
    )
    assert bound(asked, "Người vi phạm bị phạt cảnh cáo.") is None  # no bound at all: nothing to contrast


# --- the real engine over the sample corpus -----------------------------------------------------------


@pytest.mark.parametrize(
    "question",
    [
        "Cán bộ luân chuyển có được bố trí nhà ở công vụ không?",
        "Cán bộ được luân chuyển có được hưởng phụ cấp đi lại hằng tháng không?",
    ],
)
def test_near_topic_question_with_an_uncovered_concept_is_refused_with_nearest(
    samples: QAEngine, question: str
) -> None:
    answer = samples.ask(question)
    assert not answer.found
    assert answer.citations == [] and 1 <= len(answer.nearest) <= 3
    assert answer.answer.startswith("Không tìm thấy")
    assert answer.confidence < 0.5


def test_a_borderline_question_quotes_the_nearest_passage_labelled_as_possibly_not_answering(
    samples: QAEngine,
) -> None:
    # «thưởng tiền» is not in the scheme, but «thưởng» (bonus points) is, in the grade-A article: neither a
    # bare refusal nor a confident quote.
    answer = samples.ask("Người được xếp loại A trong tháng có được thưởng tiền không?")
    assert answer.found and answer.uncertain
    assert answer.answer.startswith(wording.UNCERTAIN_INTRO)
    assert answer.citations and "«" in answer.answer
    logit = refusal_logit(
        [answer.features[k] for k in REFUSAL_FEATURES],
        intercept=samples.params.refusal_intercept,
        weights=samples.params.refusal_weights,
    )
    assert 0.0 <= logit < samples.params.uncertain_band


def test_nearest_articles_of_a_refusal_are_on_the_topic(samples: QAEngine) -> None:
    answer = samples.ask("Cán bộ luân chuyển có được bố trí nhà ở công vụ không?")
    assert not answer.found
    assert answer.nearest[0].doc_number in {"65-QĐ/TW", "98-QĐ/TW", "138/2020/NĐ-CP"}


def test_a_refusal_names_the_words_no_loaded_document_contains(samples: QAEngine) -> None:
    answer = samples.ask("Phụ cấp thu hút cho cán bộ luân chuyển đến vùng khó khăn là bao nhiêu?")
    assert not answer.found
    assert {"phụ cấp", "thu hút"} <= set(answer.unmentioned)
    assert "luân chuyển" not in answer.unmentioned and "cán bộ" not in answer.unmentioned
    assert "Các văn bản đã nạp không nhắc đến: «phụ cấp», «thu hút»" in answer.answer
    assert answer.to_json()["unmentioned"] == answer.unmentioned
    typed_bare = samples.ask("phu cap thu hut can bo luan chuyen vung kho khan bao nhieu")
    assert not typed_bare.found and typed_bare.unmentioned == []  # restored words are not shown back


@pytest.mark.parametrize(
    ("question", "doc_number", "article"),
    [
        ("can bo luan chuyen phai co du suc khoe khong", "65-QĐ/TW", 5),
        ("CB đi luân chuyển phải còn ít nhất mấy năm công tác theo QĐ 65?", "65-QĐ/TW", 5),
        ("ngươi đứng đầu giữ chức vụ quá hai nhiệm kì có phải luân chuyễn không", "65-QĐ/TW", 4),
        ("Người đứng đầu cơ quan có quyền quyết định mức xếp loại tháng không?", "1841-QĐ/TU", 5),
    ],
    ids=["no-diacritics", "abbreviations", "typos", "plain"],
)
def test_answerable_questions_are_answered(
    samples: QAEngine, question: str, doc_number: str, article: int
) -> None:
    answer = samples.ask(question)
    assert answer.found, question
    top = [(c.doc_number, c.article) for c in answer.citations[:3]]
    assert (doc_number, article) in top
    assert answer.confidence > 0.5


@pytest.mark.parametrize(
    "question", ["Cán bộ luân chuyển tối đa bao nhiêu năm?", "can bo luan chuyen toi da bao nhieu nam"]
)
def test_a_quote_of_the_other_bound_is_labelled_and_says_so(samples: QAEngine, question: str) -> None:
    """65-QĐ/TW sets a minimum term of rotation («ít nhất là 3 năm») and no maximum: asked for the maximum,
    the answer quotes the minimum as possibly not answering, and says which bound it states."""
    answer = samples.ask(question)
    assert answer.found and answer.uncertain
    assert answer.answer.startswith(wording.UNCERTAIN_INTRO)
    assert wording.bound_conflict_note(0, "ít nhất") in answer.answer
    assert answer.citations[0].doc_number == "65-QĐ/TW" and "ít nhất" in answer.citations[0].text
    asked_right = samples.ask("Thời gian luân chuyển tối thiểu là bao lâu?")
    assert asked_right.found and not asked_right.uncertain
    assert "Lưu ý: câu hỏi hỏi" not in asked_right.answer


def test_a_runner_up_stating_the_bound_asked_comes_before_one_stating_the_other(samples: QAEngine) -> None:
    """Ranked first, 366-QĐ/TW's «ít nhất 30% nhiệm vụ …» states a minimum; the article capping grade A at
    «không vượt quá 20% …» answers «tối đa bao nhiêu phần trăm» and is quoted first, without a label."""
    answer = samples.ask("Số người HTXSNV tối đa bằng bao nhiêu phần trăm số HTTNV?")
    assert answer.found and not answer.uncertain
    first = answer.citations[0]
    assert first.doc_number == "366-QĐ/TW" and "không vượt quá 20%" in first.text
    assert "Lưu ý: câu hỏi hỏi" not in answer.answer


def test_words_of_a_long_messages_background_are_not_named_as_unmentioned(samples: QAEngine) -> None:
    """«chút», «giờ» («cho em hỏi chút», «giờ em muốn …») tell a story: when the asking sentence («Như vậy có
    được không?») names too little and the whole message is judged, they are not concepts the documents lack."""
    answer = samples.ask(
        "Anh chị cho em hỏi chút, em vừa được luân chuyển về huyện được hai năm, giờ em muốn xin về lại đơn vị"
        " cũ. Như vậy có được không ạ?"
    )
    assert answer.ranked and answer.ranked[0].doc_number == "65-QĐ/TW"
    assert not {"chút", "giờ"} & set(answer.unmentioned)
    assert "«chút»" not in answer.answer
    # a short question still names what no document mentions
    assert {"phụ cấp", "thu hút"} <= set(
        samples.ask("Phụ cấp thu hút cán bộ luân chuyển là bao nhiêu?").unmentioned
    )
