"""A question as the engine reads it: marks restored, words and content terms, the parts it asks about,
whether it wants a number, and whether it asks about an old (replaced) text."""

from __future__ import annotations

import itertools
import re
import unicodedata
from dataclasses import dataclass, field

from retrieval.analysis import (
    DiacriticRestorer,
    QuestionTerm,
    analyse,
    fold,
    question_terms,
    strip_diacritics,
    typed_without_marks,
)
from retrieval.quantity import asked_quantity

# Cues that the answer is a number, a duration, an age, a share or a date (general Vietnamese).
_NUMBER_CUES = (
    "bao nhieu",
    "bao lau",
    "bao gio",
    "khi nao",
    "may nam",
    "may thang",
    "may ngay",
    "may lan",
    "may tuoi",
    "may nhiem ky",
    "toi da",
    "toi thieu",
    "thoi han",
    "ty le",
    "phan tram",
    "do tuoi",
    "truoc ngay",
    "ngay nao",
    "thang nao",
)
# Cues that the question asks about a text before it was replaced ("theo quy định cũ", "trước đây").
_OLD_CUES = (
    "quy dinh cu",
    "van ban cu",
    "ban cu",
    "truoc day",
    "truoc khi bi thay the",
    "truoc khi thay the",
    "truoc khi duoc thay the",
    "da bi thay the",
    "bi thay the",
    "da het hieu luc",
    "het hieu luc",
    "truoc kia",
    "truoc khi sua doi",
    "truoc khi duoc sua doi",
    "truoc khi bi sua doi",
    "chua sua doi",
    "chua duoc sua doi",
    "luc ban dau",
    "ban goc",
    "nguyen ban",
    "ngay xua",
    "luc truoc",
    "hoi truoc",
)
# Cues that the question asks about the rule as it stands now: after an old cue they win over it ("hồi trước
# chỉ được 15% … giờ theo quy định mới thì bao nhiêu?" recalls the old rule to ask the new one).
_NEW_CUES = (
    "quy dinh moi",
    "van ban moi",
    "quy dinh hien hanh",
    "hien hanh",
    "hien nay",
    "hien tai",
    "bay gio",
    "moi nhat",
    "dang co hieu luc",
    "dang ap dung",
)
_YEAR_RE = re.compile(r"(?<!\d)(19[5-9]\d|20[0-4]\d)(?!\d)")
# Where a question asking several things splits: between sentences and at "?" / ";" always; at "và",
# "hoặc", ", còn", "đồng thời", "ngoài ra" only when both sides ask something (an interrogative of their own);
# and "nếu / khi / trường hợp … thì …" into the situation and what is asked about it.
_SENTENCE_SPLIT_RE = re.compile(r"\?+\s*|;\s*|\.\s+(?=\S)")
_JOIN_SPLIT_RE = re.compile(
    r",?\s+(?:và|hoặc|hay là)\s+|,\s*(?:còn|hay)\s+|,?\s+(?:đồng thời|ngoài ra|bên cạnh đó|mặt khác)\s*,?\s+",
    re.IGNORECASE,
)
_CONDITION_RE = re.compile(
    r"^\s*(?:nếu|khi|trường hợp|trong trường hợp)\s+(.+?)\s+thì\s+(.+)$", re.IGNORECASE
)
_INTERROGATIVES = (
    "bao nhieu",
    "bao lau",
    "bao gio",
    "khi nao",
    "the nao",
    "ra sao",
    "la gi",
    "gi",
    "nao",
    "ai",
    "may",
    "o dau",
    "sao",
    "co phai",
    "duoc khong",
    "khong",
    "chua",
    "co can",
)
_MIN_PART_TERMS = 2


@dataclass(frozen=True)
class Part:
    """One thing a question asks: its text and content terms."""

    text: str
    terms: tuple[QuestionTerm, ...]
    wants_number: bool
    asked: str | None = None  # the kind of number asked for (retrieval.quantity), None for any


@dataclass
class Query:
    text: str  # as asked (stripped)
    restored: str  # marks put back where typed without them (the model's input and the word field's)
    accent_free: bool  # typed (mostly) without marks
    syllables: list[str]  # accent-free syllables of the question as typed (abbreviations expanded)
    words: list[str]  # pyvi words of the restored question
    terms: list[QuestionTerm]  # content words
    wants_number: bool
    years: set[int]
    asks_old: bool  # "quy định cũ", "trước đây", "trước khi bị thay the" …
    parts: list[Part] = field(default_factory=list)  # two or more when it asks several things
    search_text: str = ""  # the restored question without version cues ("năm 2017", "trước khi bị thay thế")
    name_syllables: list[str] = field(default_factory=list)  # all syllables, to find the documents it names
    asked: str | None = None  # the kind of number asked for (retrieval.quantity), None for any
    # content words only the background of a long message holds ("Anh chị cho em hỏi chút, đơn vị em …"),
    # when its asking sentence names too few to be judged alone: a concept the question asks about is not
    # among them, so one that no text contains says nothing about coverage
    background: frozenset[tuple[str, ...]] = frozenset()

    @property
    def bigrams(self) -> list[str]:
        s = self.syllables
        return [f"{a}_{b}" for a, b in itertools.pairwise(s)]


def _plain(text: str) -> str:
    return " ".join(re.findall(r"[^\W_]+", strip_diacritics(fold(text))))


def wants_number(text: str) -> bool:
    plain = f" {_plain(text)} "
    return any(f" {cue} " in plain for cue in _NUMBER_CUES)


def asks_old(text: str) -> bool:
    """An old cue ("quy định cũ", "hồi trước") not followed by a cue for the rule as it stands now: "hồi trước
    … giờ theo quy định mới thì …" moves on to ask the current rule; "quy định hiện hành trước khi sửa đổi"
    still asks the old text."""
    plain = f" {_plain(text)} "

    def last(cues: tuple[str, ...]) -> int:
        return max((plain.rfind(f" {cue} ") for cue in cues), default=-1)

    old = last(_OLD_CUES)
    return old >= 0 and last(_NEW_CUES) < old


def _asks(text: str) -> bool:
    plain = f" {_plain(text)} "
    return any(f" {cue} " in plain for cue in _INTERROGATIVES)


def split_parts(text: str) -> list[str]:
    """The clauses of a question that asks several things (one element when it asks one)."""
    out: list[str] = []
    for sentence in _SENTENCE_SPLIT_RE.split(unicodedata.normalize("NFC", text)):
        sentence = sentence.strip(" ,.?;:")
        if not sentence:
            continue
        pieces = [p.strip(" ,.?;:") for p in _JOIN_SPLIT_RE.split(sentence)]
        pieces = [p for p in pieces if p]
        if len(pieces) > 1 and not all(_asks(p) for p in pieces):
            pieces = [sentence]  # "A và B có được …?" asks one thing about two subjects
        for piece in pieces:
            condition = _CONDITION_RE.match(piece)
            if condition:
                out.extend([condition.group(1).strip(" ,"), condition.group(2).strip(" ,")])
            else:
                out.append(piece)
    return out


def asking_sentences(text: str) -> str:
    """The sentences of a message that ask something, when others only greet or give background ("Dạ em
    chào anh. Quý vừa rồi em được giao thêm 2 việc … Em tính điểm thưởng là 11 điểm có đúng không?");
    the text itself when every sentence asks or none does."""
    sentences = [s.strip(" ,.?;:") for s in _SENTENCE_SPLIT_RE.split(unicodedata.normalize("NFC", text))]
    sentences = [s for s in sentences if s]
    asking = [s for s in sentences if _asks(s)]
    if not asking or len(asking) == len(sentences):
        return text
    return ". ".join(asking)


_MIN_FOCUS_TERMS = 2  # fewer content words in the asking sentences: the background counts too

_VERSION_WORDS = ("theo quy dinh", "quy dinh", "van ban", "nam", "ban hanh", "ban hanh nam")


def without_version_cues(text: str) -> str:
    """The question without what only says which version is meant ("theo quy định năm 2017", "trước khi
    bị thay thế"): those words are about the document, not about the rule, and would rank the replacing
    document's "thay thế …" article first."""
    matches = list(re.finditer(r"[^\W_]+", text))
    plain = [strip_diacritics(fold(m.group(0))) for m in matches]
    drop = [False] * len(matches)
    for cue in _OLD_CUES:
        words = cue.split()
        for i in range(len(plain) - len(words) + 1):
            if plain[i : i + len(words)] == words:
                drop[i : i + len(words)] = [True] * len(words)
    for i, token in enumerate(plain):
        if _YEAR_RE.fullmatch(token):
            drop[i] = True
            j = i - 1
            while j >= 0 and plain[j] in {"nam", "ban", "hanh", "theo", "quy", "dinh", "tu", "cua"}:
                drop[j] = True
                j -= 1
    if not any(drop) or all(drop):
        return text
    kept = [m.group(0) for m, d in zip(matches, drop, strict=True) if not d]
    return " ".join(kept)


def read_query(question: str, restorer: DiacriticRestorer) -> Query:
    text = " ".join(question.split())
    accent_free = typed_without_marks(text)
    restored = restorer.expand_acronyms(restorer.restore(text))
    years = {int(y) for y in _YEAR_RE.findall(text)}
    old = asks_old(text)
    search_text = without_version_cues(restored) if (old or years) else restored
    typed = analyse(without_version_cues(text) if (old or years) else text, segment=False)
    terms = question_terms(search_text, accent_free=accent_free)
    focus = asking_sentences(search_text)
    background: frozenset[tuple[str, ...]] = frozenset()
    if focus != search_text:  # greetings and background around the question: judge the question itself
        plain_focus = f" {_plain(focus)} "
        focus_terms = [t for t in terms if f" {' '.join(t.syllables)} " in plain_focus]
        # "… vậy có phải chờ không?": a question that names one concept at most leans on the background
        # before it, so the whole message's concepts are judged.
        if len(focus_terms) >= _MIN_FOCUS_TERMS:
            terms = focus_terms
        else:
            background = frozenset(t.syllables for t in terms if t not in focus_terms)
    query = Query(
        text=text,
        restored=restored,
        accent_free=accent_free,
        syllables=typed.syllables,
        words=analyse(search_text).words,
        terms=terms,
        wants_number=wants_number(text),
        years=years,
        asks_old=old,
        search_text=search_text,
        name_syllables=analyse(text, segment=False).syllables,
        asked=asked_quantity(focus),
        background=background,
    )
    pieces = split_parts(focus)
    if len(pieces) > 1:
        groups: list[tuple[str, tuple[QuestionTerm, ...]]] = []
        pending: tuple[str, tuple[QuestionTerm, ...]] = (
            "",
            (),
        )  # a fragment too small to be a part ("Được bao nhiêu điểm") joins the next one
        for piece in pieces:
            plain_piece = f" {_plain(piece)} "
            own = tuple(t for t in terms if f" {' '.join(t.syllables)} " in plain_piece)
            text_so_far = f"{pending[0]} {piece}".strip()
            terms_so_far = pending[1] + own
            if len(own) >= _MIN_PART_TERMS:
                groups.append((text_so_far, terms_so_far))
                pending = ("", ())
            else:
                pending = (text_so_far, terms_so_far)
        if pending[0] and groups:
            last_text, last_terms = groups[-1]
            groups[-1] = (f"{last_text}, {pending[0]}", last_terms + pending[1])
        if len(groups) > 1:
            query.parts = [Part(t, own, wants_number(t), asked_quantity(t)) for t, own in groups]
    return query
