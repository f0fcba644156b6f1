"""The email body made safe: remote images replaced and listed, nothing that navigates."""

from __future__ import annotations

from reconciler.preview.fill import CLOSE, OPEN
from reconciler.preview.mail import BODY_CSP, PLACEHOLDER, mail_view, plain_text


def test_remote_images_are_placeholders_and_listed() -> None:
    body = (
        '<img src="https://cdn.example/a.png"><img srcset="https://cdn.example/b.png 2x">'
        "<td background='https://cdn.example/c.png'>"
        '<p style="background:url(https://cdn.example/d.png)">x</p>'
        '<img src="data:image/png;base64,AAAA"><img src=rel.png>'
    )
    view = mail_view(body)
    assert view.images == (
        "https://cdn.example/a.png",
        "https://cdn.example/b.png",
        "https://cdn.example/c.png",
        "rel.png",
        "https://cdn.example/d.png",
    )
    assert "cdn.example" not in view.srcdoc
    assert "rel.png" not in view.srcdoc
    assert view.srcdoc.count(PLACEHOLDER) == 2
    assert "data:image/png;base64,AAAA" in view.srcdoc
    assert BODY_CSP in view.srcdoc


def test_refresh_base_and_link_elements_are_dropped() -> None:
    view = mail_view(
        '<meta http-equiv="refresh" content="0;url=https://x.example"><base href="https://x.example/">'
        '<link rel=stylesheet href="https://x.example/s.css"><p>Hi</p>'
    )
    assert "x.example" not in view.srcdoc


def test_plain_text_fallback_and_plain_bodies() -> None:
    html = "<h1>Title</h1><p>Hi <b>Ana</b>,</p><style>p{}</style><p><a href='https://x.example'>here</a></p>"
    assert plain_text(html) == "Title\n\nHi Ana,\n\nhere <https://x.example>"
    text = mail_view(f"Hi {OPEN}nope{CLOSE},\n\n<3 you")
    assert text.images == ()
    assert '<mark class="unknown">{{nope}}</mark>' in text.srcdoc
    assert "&lt;3 you" in text.srcdoc


def test_dropped_elements_cannot_be_rebuilt_from_their_pieces() -> None:
    view = mail_view(
        '<me<meta>ta http-equiv="refresh" content="0;url=https://x.example/r">'
        '<li<link>nk rel=prefetch href="https://x.example/p"><ba<base>se href="https://x.example/">'
        "<p>Hi</p>"
    )
    assert "x.example" not in view.srcdoc
    assert "<p>Hi</p>" in view.srcdoc


def test_remote_references_written_any_way_html_or_css_allows_are_listed() -> None:
    """Attributes split by ``/`` or by nothing after a quote, a ``>`` inside a quoted value,
    SVG images, CSS escapes and character references, ``@import`` and ``image-set`` strings,
    and a tag a raw-text element makes look like text: each is listed, and an ``<img>`` among
    them shows the placeholder."""
    body = (
        '<img/src="https://x.example/1.png">'
        '<img alt=""src="https://x.example/2.png">'
        '<img alt="a>b" src="https://x.example/3.png">'
        '<title><img alt="</title><img src=https://x.example/4.png>">'
        '<svg><image href="https://x.example/5.png"/><use xlink:href="https://x.example/6.svg#a"/>'
        "</svg><a href='https://x.example/link'>a link is not loaded</a>"
        '<p style="background:u\\72l(https://x.example/7.png)">x</p>'
        '<p style="background:&#117;rl(https://x.example/8.png)">x</p>'
        "<style>@import 'https://x.example/9.css';"
        'p{background-image:image-set("https://x.example/10.png" 1x,'
        " 'https://x.example/11.png' 2x)}</style>"
        '<img srcset="data:image/png;base64,AA,AA 1x, https://x.example/12.png 2x">'
    )
    view = mail_view(body)
    listed = {url.rsplit("/", 1)[-1] for url in view.images}
    assert listed == {f"{n}.png" for n in (1, 2, 3, 4, 5, 7, 8, 10, 11, 12)} | {"6.svg#a", "9.css"}
    for n in (1, 2, 3, 4):
        assert f"x.example/{n}.png" not in view.srcdoc
    assert "https://x.example/link" in view.srcdoc
    assert view.srcdoc.count(PLACEHOLDER) == 4


def test_a_marked_section_the_parser_cannot_name_is_text_not_a_crash() -> None:
    body = "<p><![ ]>a</p><![foo[ x ]]>b<![if !mso]>c<![endif]><![CDATA[d]]><![>e"
    assert plain_text(body) == "<![ ]>a\n<![foo[ x ]]>bc<![>e"
    assert "<![if !mso]>" in mail_view(body).srcdoc


def test_an_unfinished_tag_or_comment_is_text_in_the_plain_view() -> None:
    """A '<' with no '>' before the next '<', and a comment never closed, read as text: the
    standard library's parser would rescan the body from each (benchmarks/preview_page.py
    --dense times 100,000 of them)."""
    assert plain_text("<p>a <b c <i>x</i> <!-- never closed</p>") == "a <b c x <!-- never closed"
    assert plain_text("<p>" + "<a " * 1000 + ">x</p>") == ("<a " * 999).strip() + " x"
    assert mail_view("<p>" + "<a " * 1000 + "</p>").srcdoc.endswith("<a </p>")
