"""The engines a translation can go through, one direction ("hop") at a time: an Argos
package (from the Argos index, or imported from an OPUS-MT checkpoint) or the multilingual
model, with what the coverage pages show of each (engine, model, licence, quality tier).

The order when nothing is chosen: an Argos package for the direction (one from the index
before an imported one, see argos.ArgosEngine.pairs), then the multilingual model, then
through English (each half by the same order). An admin may choose per language: `argos`
(never the multilingual model) or `multilingual` (the multilingual model first, where it
knows the language; e.g. for Korean, Ukrainian and Arabic, whose old Argos models are weak)."""

from dataclasses import dataclass, field
from typing import Literal

from app.translation import multilingual
from app.translation.argos import InstalledPair, Scored, engine
from app.translation.multilingual import MultilingualModel

Choice = Literal["auto", "argos", "multilingual"]
CHOICES: tuple[Choice, ...] = ("auto", "argos", "multilingual")
Kind = Literal["argos", "opus-mt", "multilingual"]
Tier = Literal["test model", "good", "weak", "unrated"]

# Published evaluations (COMET, en→X; see README) put these old Argos models 10–20 points
# below the rest; the newer Argos models trail the best by 2–5.
WEAK_ARGOS = {("en", "ko"), ("en", "uk"), ("en", "ar")}
NOT_STATED = "not stated"


@dataclass(frozen=True)
class Hop:
    """One direction through one model."""

    source: str
    target: str
    kind: Kind
    engine: str  # the engine and model version, as kept with cached translations
    model: str  # a name for people: the package's pair or the multilingual model's name
    licence: str
    tier: Tier
    argos_pair: InstalledPair | None = field(default=None, compare=False)
    multilingual_model: MultilingualModel | None = field(default=None, compare=False)

    @property
    def test_model(self) -> bool:
        """Built for tests (its metadata says so): not for families."""
        return self.tier == "test model"

    def translate(self, texts: list[str]) -> list[str]:
        if self.multilingual_model is not None:
            return multilingual.translate(texts, self.source, self.target, self.multilingual_model)
        return engine.translate(texts, self.source, self.target)

    def translate_back(self, texts: list[str]) -> list[str]:
        """For the quality check's round trip: an Argos model decodes greedily (beam size 1),
        cheaper and enough to tell whether the meaning survived."""
        if self.multilingual_model is not None:
            return self.translate(texts)
        return engine.translate_greedy(texts, self.source, self.target)

    def translate_scored(self, texts: list[str]) -> list[Scored]:
        if self.multilingual_model is not None:
            return [
                Scored(text, log_prob, tokens)
                for text, log_prob, tokens in multilingual.translate_scored(
                    texts, self.source, self.target, self.multilingual_model
                )
            ]
        return engine.translate_scored(texts, self.source, self.target)


def argos_hop(pair: InstalledPair) -> Hop:
    if pair.test_model:
        tier: Tier = "test model"
    elif pair.imported:
        tier = "unrated"  # no evaluation of the imported checkpoint is known to Hearth
    else:
        tier = "weak" if (pair.source, pair.target) in WEAK_ARGOS else "good"
    return Hop(
        pair.source,
        pair.target,
        "opus-mt" if pair.imported else "argos",
        pair.engine,
        f"{pair.source}→{pair.target} {pair.version}",
        pair.licence or ("test model" if pair.test_model else NOT_STATED),
        tier,
        argos_pair=pair,
    )


def multilingual_hop(model: MultilingualModel, source: str, target: str) -> Hop:
    return Hop(
        source,
        target,
        "multilingual",
        model.engine,
        f"{model.name} {model.version}",
        model.licence,
        "test model" if model.test_model else "unrated",
        multilingual_model=model,
    )


def best_hop(source: str, target: str, choice: Choice = "auto") -> Hop | None:
    """The model for one direction by the order above, or None."""
    pair = engine.pairs().get((source, target))
    argos = argos_hop(pair) if pair else None
    if choice == "argos":
        return argos
    model = multilingual.find(source, target)
    many = multilingual_hop(model, source, target) if model else None
    return (many or argos) if choice == "multilingual" else (argos or many)


def installed_languages() -> set[str]:
    """Every language some installed model translates to or from."""
    codes = {code for pair in engine.pairs() for code in pair}
    for model in multilingual.installed():
        codes |= set(model.language_tokens)
    return codes
