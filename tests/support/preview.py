"""Preview tests: manifests loaded as the command loads them, pages built from them, and the
page read back as data (each card's attributes and text) with the standard library's parser."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

from reconciler.config import EnvironmentConfig, select
from reconciler.manifests import LoadedDocument, load_manifests
from reconciler.preview.page import PreviewOptions, Totals, build_page
from reconciler.preview.samples import Sample, choose

CHANNELS = "{1: sms, 2: email, 3: push}"


def documents(
    paths: Sequence[str | Path], env: EnvironmentConfig, root: Path
) -> list[LoadedDocument]:
    result = load_manifests([str(p) for p in paths], variables=env.vars, root=root)
    assert result.ok, [d.render() for d in result.diagnostics]
    return result.documents


def environment(config: Path, name: str | None = None) -> tuple[str, EnvironmentConfig, Path]:
    settings = select(config, name, environ={}, network=False)
    return settings.environment, settings.env, settings.root


def page_of(
    head: Sequence[LoadedDocument],
    base: Sequence[LoadedDocument] | None = None,
    *,
    env: EnvironmentConfig | None = None,
    sample: Sample | None = None,
) -> tuple[str, Totals]:
    env = env or EnvironmentConfig(
        endpoint="sandbox", channels={"1": "sms", "2": "email", "3": "push"}
    )
    chosen = sample or choose(None, env.samples, tuple(env.tags))
    return build_page(head, base, options=PreviewOptions.of("test", env, chosen))


@dataclass
class Card:
    attrs: dict[str, str]
    text: list[str] = field(default_factory=list)
    classes: list[list[str]] = field(default_factory=list)  # class lists of elements inside
    iframes: list[dict[str, str]] = field(default_factory=list)

    @property
    def kind(self) -> str:
        return self.attrs["data-kind"]


class _Cards(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.cards: list[Card] = []
        self.depth = 0  # <article> nesting of the current card
        self.elements: list[tuple[str, dict[str, str]]] = []  # every element, in order

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        self.elements.append((tag, values))
        if tag == "article":
            self.cards.append(Card(values))
            self.depth = 1
        elif self.depth:
            card = self.cards[-1]
            card.classes.append(values.get("class", "").split())
            if tag == "iframe":
                card.iframes.append(values)

    def handle_endtag(self, tag: str) -> None:
        if tag == "article":
            self.depth = 0

    def handle_data(self, data: str) -> None:
        if self.depth:
            self.cards[-1].text.append(data)


def cards(page: str) -> list[Card]:
    parser = _Cards()
    parser.feed(page)
    parser.close()
    return parser.cards


def elements(page: str) -> list[tuple[str, dict[str, str]]]:
    parser = _Cards()
    parser.feed(page)
    parser.close()
    return parser.elements
