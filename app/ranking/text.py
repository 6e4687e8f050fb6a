"""Chinese text to tokens: NFKC, lower-case, jieba segmentation with a domain dictionary,
compounds split into their dictionary words, stopwords, protected-attribute words and synonym
groups."""

from __future__ import annotations

import logging
import re
import threading
import unicodedata
import warnings
from collections.abc import Iterable, Sequence
from functools import cache, reduce
from operator import iadd
from typing import Any, Literal, Protocol

from app.ranking import lexicon

logger = logging.getLogger(__name__)

Backend = Literal["auto", "jieba", "rjieba"]

# High enough that every dictionary term beats any split of it in jieba's DAG, and passed
# explicitly so both backends build the same dictionary (their suggested frequencies differ).
USER_WORD_FREQ = 100_000

_WORD_CHAR = re.compile(r"\w")
# Only words of Chinese characters are split: the two backends' search modes cut Latin words
# differently (s7-1200, node.js), and a Latin part is no dictionary word (3d打印 would lose 3d).
_HAN_WORD = re.compile("[\u4e00-\u9fff]+")
_WORD_RUN = re.compile(r"\w+")
# A protected attribute's value is as protected as its name: "户籍：宁波市" says where one is
# registered, "23岁" is an age, "宁波户口" a registration. Cut out before segmenting.
_PROTECTED_PHRASES = re.compile(
    r"(?:性别|年龄|民族|户籍|户口|籍贯|生源地|出生地|婚姻状况|婚姻|婚否|生育状况)"
    r"(?:所在地)?\s*[:：]\s*[^,，。；;、\s]{0,12}"
    r"|\d{1,3}\s*(?:周岁|岁)"
    r"|[\u4e00-\u9fff]{1,4}(?:户籍|户口)"
)
# With the school signal off: school names and tiers, so a school named in free text moves no
# score either (no structured field scores the school).
_SCHOOL_NAMES = re.compile(
    r"[\u4e00-\u9fff]{2,12}?(?:大学|学院|学校)(?:[\u4e00-\u9fff]{0,6}?(?:校区|分校))?"
    r"|(?:985|211|双一流|一本|二本|三本|重点|名校)(?:院校|高校|大学|学校)?"
)
# A literal every match of the pattern above it contains. Searching for literals is ~25× faster
# than the patterns (whose CJK-run alternatives are tried at every position), and only ~2 % of
# postings hold one, so the patterns run on those alone, with the same result.
_PROTECTED_TRIGGER = re.compile("性别|年龄|民族|户籍|户口|籍贯|生源地|出生地|婚姻|婚否|生育状况|岁")
_SCHOOL_TRIGGER = re.compile("大学|学院|学校|985|211|双一流|一本|二本|三本|重点|名校")


class Segmenter(Protocol):
    """What the tokenizer needs from jieba or rjieba."""

    def cut(self, text: str, hmm: bool = ...) -> list[str]: ...

    def cut_for_search(self, text: str, hmm: bool = ...) -> list[str]: ...


# Full-width ASCII and the ideographic space map to their NFKC forms; translating them first
# leaves most Chinese text already NFKC-normal, so the slow normalize() call is usually skipped.
_FULL_WIDTH = {chr(code): chr(code - 0xFEE0) for code in range(0xFF01, 0xFF5F)} | {"\u3000": " "}
# A regular expression finds them faster than str.translate walks every character, and a text
# holds only a few distinct ones ("，", "："), each replaced in one C pass: a callback per match
# was half of normalize_text's time.
_FULL_WIDTH_CHAR = re.compile("[\uff01-\uff5e\u3000]")


def normalize_text(text: str) -> str:
    """NFKC (full-width to half-width) and lower-case Latin."""
    for char in set(_FULL_WIDTH_CHAR.findall(text)):
        text = text.replace(char, _FULL_WIDTH[char])
    if not unicodedata.is_normalized("NFKC", text):
        text = unicodedata.normalize("NFKC", text)
    return text.lower()


_SEGMENTERS: dict[tuple[str, tuple[str, ...]], Any] = {}
_SEGMENTERS_LOCK = threading.Lock()


def rjieba_available() -> bool:
    """Whether the Rust port of jieba can be imported."""
    try:
        import rjieba  # noqa: F401
    except ImportError:
        return False
    return True


def resolve_backend(backend: Backend) -> Literal["jieba", "rjieba"]:
    """The concrete segmenter for a backend choice ("auto" prefers rjieba)."""
    if backend == "auto":
        return "rjieba" if rjieba_available() else "jieba"
    return backend


def get_segmenter(backend: Literal["jieba", "rjieba"], user_words: tuple[str, ...]) -> Any:
    """A segmenter with the user dictionary loaded, built once per process and dictionary."""
    key = (backend, user_words)
    with _SEGMENTERS_LOCK:
        segmenter = _SEGMENTERS.get(key)
        if segmenter is None:
            segmenter = _build_segmenter(backend, user_words)
            _SEGMENTERS[key] = segmenter
    return segmenter


def _build_segmenter(backend: Literal["jieba", "rjieba"], user_words: tuple[str, ...]) -> Any:
    if backend == "rjieba":
        import rjieba

        segmenter: Any = rjieba.Jieba()
        for word in user_words:
            segmenter.add_word(word, USER_WORD_FREQ, None)
        return _RjiebaAdapter(segmenter)
    with warnings.catch_warnings():
        # jieba's sources contain invalid escape sequences: compiling them (first import
        # without a bytecode cache) warns, which is noise from a dependency, not our code.
        warnings.simplefilter("ignore", SyntaxWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        import jieba

    jieba.setLogLevel(logging.WARNING)
    tokenizer = jieba.Tokenizer()
    tokenizer.initialize()
    for word in user_words:
        previous = tokenizer.FREQ.get(word, 0)
        tokenizer.add_word(word, USER_WORD_FREQ)
        # jieba adds a re-added word's new frequency to the total without taking the old one
        # off; the Rust port replaces it. Matching the Rust behaviour keeps the DAG's
        # probabilities, hence the tokens, identical between the two backends.
        tokenizer.total -= previous
    return _JiebaAdapter(tokenizer)


class _JiebaAdapter:
    def __init__(self, tokenizer: Any) -> None:
        self._tokenizer = tokenizer

    def cut(self, text: str, hmm: bool = False) -> list[str]:
        return list(self._tokenizer.cut(text, HMM=hmm))

    def cut_for_search(self, text: str, hmm: bool = False) -> list[str]:
        return list(self._tokenizer.cut_for_search(text, HMM=hmm))


class _RjiebaAdapter:
    def __init__(self, jieba: Any) -> None:
        self._jieba = jieba

    def cut(self, text: str, hmm: bool = False) -> list[str]:
        tokens: list[str] = self._jieba.cut(text, hmm)  # already a new list
        return tokens

    def cut_for_search(self, text: str, hmm: bool = False) -> list[str]:
        tokens: list[str] = self._jieba.cut_for_search(text, hmm)
        return tokens


class Tokenizer:
    """Text → cleaned tokens; the same instance must tokenize both jobs and graduates."""

    def __init__(
        self,
        *,
        backend: Backend = "auto",
        user_words: Sequence[str] | None = None,
        stopwords: Iterable[str] | None = None,
        synonym_groups: Sequence[Sequence[str]] | None = None,
        hmm: bool = False,
        drop_protected: bool = True,
        drop_schools: bool = False,
        split_compounds: bool = True,
    ) -> None:
        self.backend = backend
        self.user_words = user_words
        self.stopwords = stopwords
        self.synonym_groups = synonym_groups
        # HMM new-word discovery is off: it invents tokens that differ between the two backends
        # and between nearly identical texts, which hurts both equality and matching.
        self.hmm = hmm
        self.drop_protected = drop_protected
        self.drop_schools = drop_schools
        # A compound the segmenter keeps whole (机械设计, 电气工程师) becomes the dictionary words
        # inside it (机械, 设计; 电气, 工程, 工程师), so a profile's 机械 meets a posting's
        # 机械设计: the two sides name the same work at a different grain, short skill lists
        # against long descriptions. It measured better on every set of
        # `jobmatch evaluate --suite` and its held-out halves (README, "Text choices").
        self.split_compounds = split_compounds
        self._state: tuple[Any, dict[str, str]] | None = None
        # Raw segment → its output tokens, when compounds are split (filled as segments appear).
        self._pieces: dict[str, tuple[str, ...]] = {}
        # The synonym groups' terms, never split: a group says its terms are one idea.
        self._synonym_terms: frozenset[str] = frozenset()
        self._lock = threading.Lock()

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_state"] = None
        state["_lock"] = None
        state["_pieces"] = {}
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    @property
    def backend_in_use(self) -> Literal["jieba", "rjieba"]:
        """The segmenter actually used."""
        return resolve_backend(self.backend)

    def synonym_map(self) -> dict[str, str]:
        """Variant → canonical term, normalized."""
        groups = (
            lexicon.default_synonym_groups()
            if self.synonym_groups is None
            else tuple(tuple(group) for group in self.synonym_groups)
        )
        mapping: dict[str, str] = {}
        for group in groups:
            terms = [normalize_text(term) for term in group]
            for term in terms[1:]:
                mapping.setdefault(term, terms[0])
        return mapping

    def dictionary_words(self) -> tuple[str, ...]:
        """Every term the segmenter keeps whole: the user dictionary plus all synonym terms."""
        words = lexicon.default_user_words() if self.user_words is None else self.user_words
        synonyms = self.synonym_map()
        everything = {normalize_text(word) for word in words}
        everything.update(synonyms)
        everything.update(synonyms.values())
        if self.drop_protected:
            # Whole, so "本地户口" drops as one word instead of leaving "本地" behind.
            everything.update(normalize_text(word) for word in lexicon.protected_terms())
        # jieba cannot keep a term containing spaces or '/' whole, so those would never match.
        return tuple(sorted(w for w in everything if w and " " not in w and "/" not in w))

    def _prepare(self) -> tuple[Any, dict[str, str]]:
        state = self._state
        if state is not None:
            return state
        with self._lock:
            if self._state is None:
                segmenter = get_segmenter(self.backend_in_use, self.dictionary_words())
                synonyms = self.synonym_map()
                self._synonym_terms = frozenset(synonyms).union(synonyms.values())
                self._state = (segmenter, self._build_token_map())
            return self._state

    def _build_token_map(self) -> dict[str, str]:
        """Precomputed verdicts for listed words: "" means drop, otherwise the output token."""
        stop = lexicon.default_stopwords() if self.stopwords is None else self.stopwords
        stopwords = {normalize_text(word) for word in stop}
        token_map: dict[str, str] = {}
        for variant, canonical in self.synonym_map().items():
            token_map[variant] = "" if canonical in stopwords else canonical
        for word in stopwords:
            token_map[word] = ""
        if self.drop_protected:
            for word in lexicon.protected_terms():
                token_map[normalize_text(word)] = ""
        return token_map

    def tokenize(self, text: str | None) -> list[str]:
        """Tokens of one text, in order, after stopwords and synonyms."""
        if not text:
            return []
        segmenter, token_map = self._prepare()
        raws = segmenter.cut(self._cut_phrases(normalize_text(text)), self.hmm)
        if self.split_compounds:
            return self._split(raws, segmenter, token_map)
        # Look-up and filter in C: a Python loop over each token was most of the tokeniser's
        # own time (and a plain dict's __getitem__ is quicker than .get or a subclass's).
        try:
            return list(filter(None, map(token_map.__getitem__, raws)))
        except KeyError:
            # Tokens not seen before: classify and cache them (the vocabulary is small next
            # to the token stream, so this branch soon stops running).
            for raw in raws:
                if raw not in token_map:
                    token_map[raw] = _classify(raw)
            return list(filter(None, map(token_map.__getitem__, raws)))

    def _split(self, raws: list[str], segmenter: Segmenter, token_map: dict[str, str]) -> list[str]:
        """Each raw segment's output tokens, compounds split (see split_compounds)."""
        pieces = self._pieces
        # list += tuple for each segment, called from C by reduce: about a tenth faster than
        # list(chain.from_iterable(...)) on real postings, whose segments mostly give one token.
        try:
            tokens: list[str] = reduce(iadd, map(pieces.__getitem__, raws), [])
        except KeyError:
            for raw in set(raws).difference(pieces):
                pieces[raw] = self._pieces_of(raw, segmenter, token_map)
            tokens = reduce(iadd, map(pieces.__getitem__, raws), [])
        return tokens

    def _pieces_of(
        self, raw: str, segmenter: Segmenter, token_map: dict[str, str]
    ) -> tuple[str, ...]:
        """A dropped word (stopword, protected attribute) goes whole, so 土家族 leaves no 家族
        behind; a synonym group's term is its group's canonical term, whole. Another word of
        three or more Chinese characters becomes the dictionary words of two or three
        characters inside it (jieba's search mode less the word itself), each then kept,
        dropped or mapped like any token; a word with none inside, or with other characters,
        is one token."""
        word = token_map[raw] if raw in token_map else _classify(raw)
        if not word:
            return ()
        inner = (
            [piece for piece in segmenter.cut_for_search(raw, self.hmm) if piece != raw]
            if len(raw) > 2 and raw not in self._synonym_terms and _HAN_WORD.fullmatch(raw)
            else []
        )
        if not inner:
            return (word,)
        out: list[str] = []
        for piece in inner:
            if piece not in token_map:
                token_map[piece] = _classify(piece)
            if token_map[piece]:
                out.append(token_map[piece])
        return tuple(out)

    def _cut_phrases(self, text: str) -> str:
        """Normalised text without protected attribute-value phrases (and school names when
        the school signal is off)."""
        if self.drop_protected and _PROTECTED_TRIGGER.search(text):
            text = _PROTECTED_PHRASES.sub(" ", text)
        if self.drop_schools and _SCHOOL_TRIGGER.search(text):
            text = _SCHOOL_NAMES.sub(" ", text)
        return text

    def tokenize_many(self, texts: Iterable[str | None]) -> list[list[str]]:
        """Tokens of each text."""
        return [self.tokenize(text) for text in texts]

    def ngrams(self, text: str | None, min_n: int, max_n: int) -> list[str]:
        """Character n-grams inside each run of word characters (a shorter run whole), after
        NFKC and lower-casing; protected-attribute words are cut out first."""
        if not text:
            return []
        text = self._cut_phrases(normalize_text(text))
        if self.drop_protected:
            text = _protected_pattern().sub(" ", text)
        out: list[str] = []
        for run in _WORD_RUN.findall(text):
            if len(run) < min_n:
                out.append(run)
                continue
            for n in range(min_n, min(max_n, len(run)) + 1):
                out.extend(run[start : start + n] for start in range(len(run) - n + 1))
        return out


@cache
def _protected_pattern() -> re.Pattern[str]:
    """Any protected-attribute word, longest first so a whole word goes before its parts."""
    words = sorted({normalize_text(word) for word in lexicon.protected_terms()}, key=len)
    return re.compile("|".join(re.escape(word) for word in reversed(words) if word))


def _classify(token: str) -> str:
    """Output for a token not in any list: drop whitespace, punctuation and bare numbers."""
    token = token.strip()
    if not token or token.isdigit() or not _WORD_CHAR.search(token):
        return ""
    if token.replace(".", "").replace("%", "").isdigit():
        return ""
    return token
