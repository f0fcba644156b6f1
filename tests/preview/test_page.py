"""The preview page as data (no browser): one card per communication, segment counts equal to
lint's for every SMS of the demo and of the lint corpus (issue 22, acceptance 3), before/after
with only the changed communications compared, and every template text escaped."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from reconciler.config import EnvironmentConfig
from reconciler.lint.engine import LintOptions, lint_entries
from reconciler.lint.placeholders import masked
from reconciler.lint.segments import measure
from reconciler.lint.sms import count
from reconciler.preview.fill import fill, spans
from reconciler.preview.samples import Sample, worst_case
from tests.support import ROOT
from tests.support.manifests import communication, manifest
from tests.support.preview import cards, documents, elements, environment, page_of

CORPUS = ROOT / "tests" / "data" / "lint"
_SEGMENTS_SAID = re.compile(r"(\d+) segments")


def _check_sms_counts(config: Path, env_name: str | None, paths: list[Path]) -> int:
    """Every SMS card's counts against lint's: its template measured as lint measures it, and
    the segment count of lint's own diagnostic on it, when lint says one."""
    _name, env, root = environment(config, env_name)
    docs = documents(paths, env, root)
    page, _ = page_of(docs, env=env, sample=worst_case(tuple(env.tags)))
    said: dict[str, int] = {}
    for source, diagnostic in lint_entries(docs, LintOptions.of(env)):
        found = _SEGMENTS_SAID.search(diagnostic.message)
        if diagnostic.rule.startswith("sms-") and found:
            said[source] = int(found.group(1))
    templates = {
        document.where(("communications", i)): document.message_templates[i]
        for document in docs
        for i in range(len(document.model.communications))
    }
    checked = 0
    for card in cards(page):
        if card.kind != "sms":
            continue
        source = card.attrs["data-source"]
        lint = measure(templates[source])
        assert int(card.attrs["data-lint-segments"]) == lint.segments, source
        assert card.attrs["data-lint-encoding"] == lint.encoding, source
        if source in said:
            assert int(card.attrs["data-lint-segments"]) == said[source], source
        checked += 1
    assert said or env_name != "lint"  # the corpus has SMS whose segments lint states
    return checked


def test_demo_sms_counts_equal_lints() -> None:
    assert _check_sms_counts(ROOT / "reconciler.yaml", "sandbox", [ROOT / "manifests"]) == 5


def test_lint_corpus_sms_counts_equal_lints() -> None:
    rules = sorted((CORPUS / "rules").glob("*.yaml"))
    liquid = [p for p in rules if "# env: liquid" in p.read_text(encoding="utf-8")]
    plain = [p for p in rules if p not in liquid]
    checked = _check_sms_counts(CORPUS / "reconciler.yaml", "lint", plain)
    checked += _check_sms_counts(CORPUS / "reconciler.yaml", "liquid", liquid) if liquid else 0
    assert checked >= 5


def test_one_card_per_communication_with_the_filled_counts() -> None:
    _name, env, root = environment(ROOT / "reconciler.yaml", "sandbox")
    docs = documents([ROOT / "manifests"], env, root)
    sample = worst_case(tuple(env.tags))
    page, totals = page_of(docs, env=env, sample=sample)
    found = cards(page)
    assert len(found) == sum(len(d.model.communications) for d in docs) == 15
    assert totals.communications == 15
    kinds = [c.kind for c in found]
    assert (kinds.count("sms"), kinds.count("email"), kinds.count("push")) == (5, 7, 3)
    templates = [t for d in docs for t in d.message_templates]
    for card, template in zip(found, templates, strict=True):
        if card.kind == "sms":
            text, _ = spans(fill(template, sample.values, liquid=False, escape=False).text)
            sms = count(masked(text))
            assert int(card.attrs["data-segments"]) == sms.segments
            assert int(card.attrs["data-units"]) == sms.units
            assert int(card.attrs["data-characters"]) == len(text)
            assert [c for c in card.classes if "segment" in c] == [["segment"]] * sms.segments
        if card.kind == "email":
            [frame] = card.iframes
            assert frame["sandbox"] == ""
            assert "allow-scripts" not in str(frame)


def _doc(
    tmp_path: Path, name: str, entries: list[dict[str, object]], file: str, target: int = 1
) -> Path:
    path = tmp_path / file
    path.write_text(manifest(name, 1, target, entries), encoding="utf-8")
    return path


def test_before_and_after_pair_documents_by_target_not_by_name(tmp_path: Path) -> None:
    """A document renamed (same target) is compared with its base; a name that moved to
    another target is that target's release and a new target, never compared across."""
    sms = communication("REMINDER", 1, "3 days left.", sender="NW")
    push = communication("CHANGE", 3, "Halfway there", subject="Keep going", sender="NW")
    base = [_doc(tmp_path, "old-name", [sms, push], "base.yaml")]
    changed = {**sms, "messageTemplate": "2 days left."}
    head = [_doc(tmp_path, "new-name", [changed, push], "head.yaml")]
    page, totals = page_of(documents(head, *_env(tmp_path)), documents(base, *_env(tmp_path)))
    sides = [(c.attrs["data-type"], c.attrs["data-side"]) for c in cards(page)]
    assert sides == [("REMINDER", "before"), ("REMINDER", "after"), ("CHANGE", "current")]
    assert totals.changed == 1
    assert re.findall(r'data-target="([^"]+)"', page) == ["new-name"]

    moved = [_doc(tmp_path, "old-name", [sms, push], "moved.yaml", target=2)]
    page, totals = page_of(documents(moved, *_env(tmp_path)), documents(base, *_env(tmp_path)))
    sides = [c.attrs["data-side"] for c in cards(page)]
    assert sides == ["new", "new", "removed", "removed"]
    assert totals.changed == 4


def test_before_and_after_show_exactly_the_changed_communications(tmp_path: Path) -> None:
    sms = communication("REMINDER", 1, "3 days left, {{first_name}}.", sender="NW")
    push = communication("CHANGE", 3, "Halfway there", subject="Keep going", sender="NW")
    email = communication("START", 2, "<p>Hi {{first_name}}</p>", subject="Hello")
    gone = communication("FINISH", 1, "Done!", sender="NW")
    base = [_doc(tmp_path, "t", [sms, push, email, gone], "base.yaml")]
    changed_sms = {**sms, "messageTemplate": "3 days left, {{first_name}}. Don’t stop now!"}
    new = communication("FINISH", 2, "<p>Done</p>", subject="Done")
    head = [_doc(tmp_path, "t", [changed_sms, push, email, new], "head.yaml")]
    page, totals = page_of(documents(head, *_env(tmp_path)), documents(base, *_env(tmp_path)))
    found = cards(page)
    sides = [(c.attrs["data-type"], c.kind, c.attrs["data-side"]) for c in found]
    assert sides == [
        ("REMINDER", "sms", "before"),
        ("REMINDER", "sms", "after"),
        ("CHANGE", "push", "current"),
        ("START", "email", "current"),
        ("FINISH", "email", "new"),
        ("FINISH", "sms", "removed"),
    ]
    assert totals.changed == 3
    tags = elements(page)
    statuses = [a.get("data-status") for t, a in tags if a.get("data-status")]
    assert statuses == ["changed", "unchanged", "unchanged"]
    # Unchanged communications are collapsed: <details> without `open`.
    collapsed = [a for t, a in tags if t == "details" and a.get("data-status") == "unchanged"]
    assert len(collapsed) == 2
    assert all("open" not in a for a in collapsed)
    # The changed line, and only it, is highlighted; the before and after cards differ in counts.
    rows = re.findall(
        r'<tr class="(\w+)"><td class="before">(.*?)</td><td class="after">(.*?)</td>', page
    )
    highlighted = [(a, b) for kind, a, b in rows if kind != "same"]
    assert highlighted == [
        ("  3 days left, {{first_name}}.", "  3 days left, {{first_name}}. Don’t stop now!")
    ]
    before, after = found[0], found[1]
    assert (before.attrs["data-encoding"], after.attrs["data-encoding"]) == ("GSM-7", "UCS-2")
    assert ["ucs2", "first"] in after.classes


def _env(tmp_path: Path) -> tuple[EnvironmentConfig, Path]:
    return EnvironmentConfig(endpoint="sandbox"), tmp_path


def test_without_a_base_nothing_is_compared(tmp_path: Path) -> None:
    path = _doc(tmp_path, "t", [communication("START", 1, "Hi", sender="NW")], "a.yaml")
    page, totals = page_of(documents([path], *_env(tmp_path)))
    assert "data-status" not in page
    assert totals.changed == 0
    assert [c.attrs["data-side"] for c in cards(page)] == ["current"]


HOSTILE = "<script>document.title='pwned'</script><img src=x onerror=alert(1)>\"'&"


@pytest.mark.parametrize("channel", [1, 2, 3, 9])
def test_every_template_text_is_escaped_in_the_page(tmp_path: Path, channel: int) -> None:
    entry = communication(
        "START", channel, HOSTILE + " {{first_name}}", subject=HOSTILE, sender=HOSTILE
    )
    path = _doc(tmp_path, HOSTILE, [entry], "x.yaml")
    page, _ = page_of(
        documents([path], *_env(tmp_path)), sample=Sample("s", {"first_name": HOSTILE})
    )
    # The only elements are the page's own: no script, no img, no handler attribute.
    tags = elements(page)
    assert {t for t, _ in tags} <= {
        "html",
        "head",
        "meta",
        "title",
        "style",
        "body",
        "header",
        "h1",
        "p",
        "b",
        "main",
        "section",
        "h2",
        "div",
        "article",
        "h3",
        "span",
        "dl",
        "dt",
        "dd",
        "iframe",
        "details",
        "summary",
        "pre",
        "mark",
        "figure",
        "figcaption",
        "code",
        "ul",
        "li",
    }
    assert not any(k.startswith("on") for _, a in tags for k in a)
    assert "<script" not in page.lower().replace("&lt;script", "")
    # An email body is HTML, but only inside the sandboxed iframe's srcdoc.
    frames = [a for t, a in tags if t == "iframe"]
    assert len(frames) == (1 if channel == 2 else 0)
    for frame in frames:
        assert frame["sandbox"] == ""
        assert "<script>" in frame["srcdoc"]
        assert "Content-Security-Policy" in frame["srcdoc"]


def test_liquid_templates_render_when_the_environment_enables_liquid(tmp_path: Path) -> None:
    template = "{% if first_name %}Hi {{ first_name | upcase }}{% endif %}, {{ nope }}!"
    path = _doc(tmp_path, "t", [communication("START", 1, template, sender="NW")], "l.yaml")
    docs = documents([path], *_env(tmp_path))
    sample = Sample("s", {"first_name": "Ana"})
    on = EnvironmentConfig(endpoint="sandbox", channels={"1": "sms"}, liquid=True)
    off = EnvironmentConfig(endpoint="sandbox", channels={"1": "sms"})
    [liquid] = cards(page_of(docs, env=on, sample=sample)[0])
    [literal] = cards(page_of(docs, env=off, sample=sample)[0])
    assert "".join(liquid.text).startswith("STARTSMSFromNWHi ANA, {{nope}}!")
    assert "{% if first_name %}" in "".join(literal.text)
    assert ["unknown"] in liquid.classes


def test_unknown_placeholders_are_marked_wherever_they_are_shown(tmp_path: Path) -> None:
    """In a listed image URL as in text: ``{{name}}`` highlighted, never the private marks the
    filling puts around it."""
    body = (
        '<p style="background:url(https://cdn.example/{{nope}}/bg.png)">Hi {{nope}}</p>'
        '<img src="https://cdn.example/{{nope}}.png" alt="{{nope}}">'
    )
    entry = communication("START", 2, body, subject="For {{nope}}")
    path = _doc(tmp_path, "t", [entry], "m.yaml")
    page, _ = page_of(documents([path], *_env(tmp_path)), sample=Sample("s", {}))
    assert "\ue000" not in page
    assert "\ue001" not in page
    listed = re.findall(r"<li><code>(.*?)</code></li>", page)
    mark = '<mark class="unknown" title="no sample value">{{nope}}</mark>'
    assert listed == [f"https://cdn.example/{mark}.png", f"https://cdn.example/{mark}/bg.png"]


def test_sample_values_are_text_in_a_plain_email_too(tmp_path: Path) -> None:
    """A body without HTML tags is text: a sample value holding markup is shown as written,
    not turned into elements of the body (nor its image into a listed one)."""
    entry = communication("START", 2, "Hi {{first_name}},\nsee you.", subject="Hello")
    path = _doc(tmp_path, "t", [entry], "m.yaml")
    value = '<b>Ana</b><img src="https://x.example/a.png">'
    page, _ = page_of(documents([path], *_env(tmp_path)), sample=Sample("s", {"first_name": value}))
    [card] = cards(page)
    [frame] = card.iframes
    assert "<b>" not in frame["srcdoc"]
    assert (
        "&lt;b&gt;Ana&lt;/b&gt;&lt;img src=&quot;https://x.example/a.png&quot;&gt;"
        in frame["srcdoc"]
    )
    assert card.attrs["data-images"] == "0"
