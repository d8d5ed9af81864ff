"""match and tags: vendors from aliases (ambiguous words handled), keyword filters, and
category suggestions with confidence and triggers."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import Session

from kb.ingest.match import AliasRule, KeywordFilter, Matcher
from kb.ingest.store import load_alias_rules
from kb.ingest.tags import Tagger, TagRulesError, load_rules

RULES = load_rules()


def matcher(*aliases: AliasRule) -> Matcher:
    return Matcher.build(
        aliases, ignore=RULES.vendor_matching.ignore, not_when=RULES.vendor_matching.not_when
    )


TOY = matcher(
    AliasRule(1, "meta", "Meta", case_sensitive=True, context=("AI", "Llama", "Zuckerberg")),
    AliasRule(2, "google", "Gemini", context=("Google", "model", "AI")),
    AliasRule(3, "mistral", "Mistral", case_sensitive=True, context=("AI", "model")),
    AliasRule(3, "mistral", "Mistral AI"),
    AliasRule(4, "xai", "xAI", case_sensitive=True),
    AliasRule(4, "xai", "Grok", case_sensitive=True, context=("xAI", "Musk", "chatbot")),
    AliasRule(5, "anthropic", "Claude", case_sensitive=True, context=("Anthropic", "AI", "model")),
    AliasRule(6, "openai", "OpenAI"),
)


def slugs(text: str, m: Matcher = TOY) -> list[str]:
    return [v.slug for v in m.match(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Meta releases a new Llama model", ["meta"]),
        ("A meta discussion about AI evaluation", []),  # lowercase "meta"
        ("Meta-analysis of AI studies finds bias", []),  # ignore phrase
        ("Google's Gemini model tops the AI charts", ["google"]),
        ("Gemini exchange adds AI trading bot", []),  # ignore phrase
        ("Winklevoss twins: Gemini lists new AI token", []),  # not_when
        ("The mistral wind hits Provence", []),  # no context
        ("Mistral releases an open AI model", ["mistral"]),
        ("Mistral AI raises funds", ["mistral"]),
        ("Explainable AI (XAI) matters for banks", []),  # case-sensitive xAI
        ("xAI ships Grok 5", ["xai"]),
        ("Grok patterns for log parsing in AI ops", []),
        ("Claude Monet exhibition uses AI guides", []),
        ("Anthropic's Claude gets a new model", ["anthropic"]),
        ("OpenAI and Anthropic's Claude model compared", ["openai", "anthropic"]),
        ("ReOpenAIx is not a word", []),
    ],
)
def test_ambiguous_words(text: str, expected: list[str]) -> None:
    assert slugs(text) == expected


def test_evidence_is_the_text_around_the_match() -> None:
    text = "Lots of words before. " * 10 + "OpenAI announced a board change today." + " More." * 30
    (m,) = TOY.match(text)
    assert m.alias == "OpenAI"
    assert "OpenAI announced a board change" in m.evidence
    assert m.evidence.startswith("…") and m.evidence.endswith("…")
    assert len(m.evidence) < 250


def test_keyword_filter() -> None:
    f = KeywordFilter.build(include=["AI", "language model"], exclude=["webinar"])
    assert f.keeps("New AI rules")
    assert f.keeps("A large Language  Model".replace("  ", " "))
    assert not f.keeps("Email is here")  # "AI" only as a whole word
    assert not f.keeps("AI webinar next week")
    assert KeywordFilter.build().keeps("anything")


def test_tag_suggestions_carry_confidence_and_triggers() -> None:
    tagger = Tagger.build(RULES)
    (top, *_rest) = tagger.suggest(
        title="Authors sue OpenAI in class action lawsuit", body="The judge will rule."
    )
    assert top.value == "lawsuit" and top.confidence > 0.9
    assert {"class action", "lawsuit"} <= set(top.triggers)
    # body-only evidence counts less than the same words in a title
    body_only = tagger.suggest(title="News", body="a lawsuit was filed")
    title = tagger.suggest(title="A lawsuit was filed", body="")
    assert body_only[0].confidence < title[0].confidence
    # "fine-tuning" is not a fine
    assert all(
        s.value != "regulatory-action" for s in tagger.suggest(title="Fine-tuning API", body="")
    )
    # feed defaults are suggestions too, and unknown categories are skipped
    known = Tagger.build(RULES, known={"outage"})
    got = known.suggest(
        title="Elevated error rates on the API", body="", defaults=["outage", "nope"]
    )
    assert [(s.value, s.triggers[-1]) for s in got] == [("outage", "feed default")]
    assert "lawsuit" in known.unknown_categories()


def test_bad_rules_files_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text("version: 1\ncategories:\n  lawsuit:\n    sue: 3\n")
    with pytest.raises(TagRulesError, match=r"lawsuit\.sue"):
        load_rules(path)
    path.write_text("version: 1\ncategories: {}\nsurprise: 1\n")
    with pytest.raises(TagRulesError, match="surprise"):
        load_rules(path)


def test_the_shipped_catalog_matches_real_headlines(catalog: Session) -> None:
    m = matcher(*load_alias_rules(session=catalog))
    assert slugs("Sam Altman says ChatGPT will get ads", m) == ["openai"]
    assert slugs("Meta's Llama 5 weights leak", m) == ["meta"]
    assert slugs("A meta review of cloud costs", m) == []
    assert slugs("Gemini crypto exchange files for IPO", m) == []
    assert set(slugs("Google DeepMind's Gemini 3 beats GPT-5", m)) == {"google", "openai"}
    assert slugs("The mistral wind closes ski lifts", m) == []
    assert slugs("Elon Musk's xAI raises $20bn for Grok", m) == ["xai"]
