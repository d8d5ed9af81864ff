"""Stage 4, match (pure): which vendors an item concerns, from the catalog's aliases, with the
matched text kept as evidence; and the feed's include/exclude keyword rules.

One compiled regex holds every alias (longest first), so matching costs one scan per item however
many aliases there are. Ambiguous words are handled in three layers:

1. ``case_sensitive`` aliases must match exactly ("Meta" the company, not "meta"; "xAI", not
   "XAI" for explainable AI);
2. ``context`` words: at least one must appear in the same text ("Gemini" next to Google, model,
   AI ...; "Mistral" next to AI, model, Le Chat ...);
3. the ``vendor_matching`` section of ``kb/data/tagging_rules.yaml``: ``ignore`` phrases inside
   which an alias does not count ("Gemini exchange", "Claude Monet"), and ``not_when`` words
   that rule an alias out for the whole text ("Winklevoss" for Gemini).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

EVIDENCE_CHARS = 90


@dataclass(frozen=True)
class AliasRule:
    """One alias of one vendor, as the catalog gives it."""

    vendor_id: int
    slug: str
    text: str
    case_sensitive: bool = False
    context: tuple[str, ...] = ()


@dataclass(frozen=True)
class VendorMatch:
    """A vendor found in a text: the alias that matched and the snippet around it."""

    vendor_id: int
    slug: str
    alias: str
    evidence: str


def norm(text: str) -> str:
    """The lookup form of a word or phrase: lowercase, single spaces."""
    return " ".join(text.lower().split())


def _emit(node: dict[str, Any]) -> str:
    wild = node.get("")
    branches = []
    for ch in sorted(k for k in node if k):
        atom = r"\s+" if ch == " " else re.escape(ch)
        branches.append(atom + _emit(node[ch]))
    if wild is True:
        branches.append(r"\w*")
    if not branches:
        return ""
    body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
    if wild is False:  # a word may end here, or go on
        return f"(?:{body})?"
    return body


def trie_regex(words: Iterable[str | tuple[str, bool]]) -> str | None:
    r"""One regex for many words/phrases, as a character trie, so the engine checks one branch
    per character instead of every word in turn (an alternation of 300 words is ~10x slower).
    A word given as (stem, True) matches any word ending after the stem (``stem\w*``). Spaces
    match any whitespace. Case: compile with re.IGNORECASE."""
    trie: dict[str, Any] = {}
    for word in words:
        text, wild = (word, False) if isinstance(word, str) else word
        text = norm(text)
        if not text:
            continue
        node = trie
        for ch in text:
            node = node.setdefault(ch, {})
        node[""] = bool(node.get("")) or wild
    if not trie:
        return None
    return _emit(trie)


def _bounded(words: Iterable[str | tuple[str, bool]]) -> re.Pattern[str] | None:
    body = trie_regex(words)
    if body is None:
        return None
    return re.compile(rf"(?<!\w)(?:{body})(?!\w)", re.IGNORECASE)


def snippet(text: str, start: int, end: int, width: int = EVIDENCE_CHARS) -> str:
    """The words around text[start:end], with an ellipsis where it was cut."""
    lo = max(0, start - width)
    hi = min(len(text), end + width)
    if lo > 0:
        space = text.find(" ", lo, start)
        lo = space + 1 if space != -1 else lo
    if hi < len(text):
        space = text.rfind(" ", end, hi)
        hi = space if space != -1 else hi
    out = " ".join(text[lo:hi].split())
    return ("…" if lo > 0 else "") + out + ("…" if hi < len(text) else "")


@dataclass
class Matcher:
    """Finds vendors in text. Build once per run with ``Matcher.build``; ``match`` is cheap."""

    pattern: re.Pattern[str] | None
    rules: dict[str, list[AliasRule]]
    ignore: re.Pattern[str] | None = None
    not_when: dict[str, re.Pattern[str]] = field(default_factory=dict)
    _context: dict[str, re.Pattern[str]] = field(default_factory=dict)

    @classmethod
    def build(
        cls,
        aliases: Iterable[AliasRule],
        *,
        ignore: Iterable[str] = (),
        not_when: dict[str, list[str]] | None = None,
    ) -> Matcher:
        """Compile every alias into one pattern."""
        rules: dict[str, list[AliasRule]] = {}
        for a in aliases:
            rules.setdefault(norm(a.text), []).append(a)
        compiled_not_when = {}
        for alias, words in (not_when or {}).items():
            pat = _bounded(words)
            if pat is not None:
                compiled_not_when[norm(alias)] = pat
        return cls(
            pattern=_bounded(a.text for group in rules.values() for a in group),
            rules=rules,
            ignore=_bounded(ignore),
            not_when=compiled_not_when,
        )

    def _has_context(self, words: tuple[str, ...], text: str) -> bool:
        key = "\x00".join(words)
        pat = self._context.get(key)
        if pat is None:
            pat = _bounded(words)
            assert pat is not None
            self._context[key] = pat
        return pat.search(text) is not None

    def match(self, text: str) -> list[VendorMatch]:
        """Every vendor the text names (once each, first evidence kept), in order of appearance."""
        if self.pattern is None or not text:
            return []
        found: dict[int, VendorMatch] = {}
        ignored: list[tuple[int, int]] | None = None
        for m in self.pattern.finditer(text):
            word = m.group(0)
            key = norm(word)
            for rule in self.rules.get(key, ()):
                if rule.vendor_id in found:
                    continue
                if rule.case_sensitive and " ".join(word.split()) != rule.text:
                    continue
                if rule.context and not self._has_context(rule.context, text):
                    continue
                stop = self.not_when.get(key)
                if stop is not None and stop.search(text):
                    continue
                if self.ignore is not None:
                    if ignored is None:
                        ignored = [s.span() for s in self.ignore.finditer(text)]
                    if any(lo <= m.start() and m.end() <= hi for lo, hi in ignored):
                        continue
                found[rule.vendor_id] = VendorMatch(
                    vendor_id=rule.vendor_id,
                    slug=rule.slug,
                    alias=rule.text,
                    evidence=snippet(text, m.start(), m.end()),
                )
        return list(found.values())


@dataclass(frozen=True)
class KeywordFilter:
    """A feed's include/exclude rules: keep an entry when it names one of the include words (if
    any are given) and none of the exclude words. Whole words, case-insensitive."""

    include: re.Pattern[str] | None
    exclude: re.Pattern[str] | None

    @classmethod
    def build(cls, *, include: Iterable[str] = (), exclude: Iterable[str] = ()) -> KeywordFilter:
        return cls(include=_bounded(include), exclude=_bounded(exclude))

    def keeps(self, text: str) -> bool:
        if self.include is not None and not self.include.search(text):
            return False
        return not (self.exclude is not None and self.exclude.search(text))
