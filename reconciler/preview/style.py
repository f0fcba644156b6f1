"""The page's stylesheet, inline: system fonts only, nothing fetched."""

from __future__ import annotations

PAGE_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-src 'none'; "
    "form-action 'none'; base-uri 'none'"
)

CSS = """
:root{--ink:#1f2328;--muted:#59636e;--line:#d1d9e0;--bg:#f6f8fa;--accent:#0969da}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--ink);background:var(--bg)}
header.page{padding:16px 24px;background:#fff;border-bottom:1px solid var(--line)}
header.page h1{margin:0 0 4px;font-size:20px}
main{padding:16px 24px;max-width:1400px}
section.target{margin:0 0 24px}
section.target>h2{font-size:16px;margin:0 0 2px}
.where{color:var(--muted);font-size:12px;margin:0 0 8px;font-family:ui-monospace,monospace}
.cards{display:flex;flex-wrap:wrap;gap:12px;align-items:flex-start}
article.card{background:#fff;border:1px solid var(--line);border-radius:8px;padding:12px;width:380px;max-width:100%}
article.card.email{width:560px}
article.card>h3{font-size:13px;margin:0 0 8px;display:flex;gap:6px;flex-wrap:wrap;align-items:center}
.badge{display:inline-block;padding:0 6px;border-radius:10px;background:#eaeef2;font-size:11px;font-weight:600}
.badge.new{background:#dafbe1}.badge.changed{background:#fff8c5}.badge.removed{background:#ffebe9}
.badge.inactive{background:#ffebe9}
.counts{font-size:12px;color:var(--muted);margin:6px 0 0}
.note{font-size:12px;margin:6px 0 0}
.phone{background:#e9edf2;border-radius:18px;padding:14px}
.bubble{background:#fff;border-radius:16px 16px 16px 4px;padding:8px 12px;white-space:pre-wrap;overflow-wrap:anywhere}
.boundary{display:inline-block;margin:0 2px;padding:0 4px;border-radius:4px;background:#cf222e;color:#fff;font-size:10px;font-weight:700;vertical-align:middle}
mark.ucs2{background:#ffb3b3;outline:1px solid #cf222e}
mark.ucs2.first{outline-width:2px}
mark.unknown{background:#ffe08a;outline:1px dashed #b7791f}
dl.headers{display:grid;grid-template-columns:auto 1fr;gap:2px 8px;margin:0 0 8px}
dl.headers dt{color:var(--muted)}dl.headers dd{margin:0;overflow-wrap:anywhere}
iframe.body{width:100%;height:320px;border:1px solid var(--line);border-radius:4px;background:#fff}
pre.plain{white-space:pre-wrap;background:var(--bg);padding:8px;border-radius:4px;font-size:12px}
details>summary{cursor:pointer;font-size:12px;color:var(--accent)}
.lockscreens{display:flex;gap:8px}
figure.lock{margin:0;flex:1;border-radius:14px;padding:10px;background:linear-gradient(#3b4a6b,#1c2233);color:#fff;min-height:150px}
figure.lock figcaption{font-size:11px;opacity:.75;margin:0 0 6px}
.notification{background:rgba(255,255,255,.88);color:#111;border-radius:12px;padding:8px}
.android .notification{border-radius:6px}
.notification .app{font-size:11px;color:#555;display:flex;justify-content:space-between}
.notification .title{font-weight:600;overflow-wrap:anywhere}
.notification .body{overflow-wrap:anywhere}
.cut{color:#cf222e;font-weight:700}
.compare{display:flex;gap:12px;flex-wrap:wrap;align-items:flex-start;width:100%}
.side h4{margin:0 0 4px;font-size:12px;color:var(--muted)}
table.diff{border-collapse:collapse;width:100%;font:12px/1.4 ui-monospace,monospace;margin:4px 0 0;background:#fff}
table.diff td{padding:1px 6px;white-space:pre-wrap;overflow-wrap:anywhere;vertical-align:top;width:50%}
tr.change td.before,tr.del td.before{background:#ffebe9}
tr.change td.after,tr.add td.after{background:#dafbe1}
details.unchanged{background:#fff;border:1px solid var(--line);border-radius:8px;padding:6px 12px;width:100%}
.changeset{width:100%;border-left:3px solid #d4a72c;padding-left:8px}
"""
