"""One self-contained HTML page: inline CSS, images as base64 data URIs, no scripts, nothing
fetched. Sections are added in order; every text is escaped here, so callers pass plain text.
"""

from __future__ import annotations

import base64
import html
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..fileio import atomic_write

STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem auto;
       max-width: 1100px; padding: 0 1rem; color: #1d1d1f; background: #ffffff; }
h1 { font-size: 1.6rem; margin-bottom: 0.2rem; }
h2 { font-size: 1.2rem; margin-top: 2rem; border-bottom: 1px solid #ddd; padding-bottom: 0.2rem; }
p.sub { color: #555; margin-top: 0; }
table { border-collapse: collapse; margin: 0.6rem 0; font-size: 0.9rem; }
th, td { border: 1px solid #ddd; padding: 0.25rem 0.6rem; text-align: right; }
th { background: #f3f3f5; }
td.text, th.text { text-align: left; }
tr.best td { background: #e8f5e9; font-weight: 600; }
figure { margin: 0.8rem 0; }
figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { color: #555; font-size: 0.85rem; }
pre { background: #f6f8fa; padding: 0.6rem; overflow-x: auto; font-size: 0.85rem; }
.finding { border-left: 4px solid #e67e22; padding: 0.2rem 0.8rem; margin: 0.6rem 0; }
.note { color: #777; font-style: italic; }
"""


class Page:
    """An HTML report assembled from headings, paragraphs, tables, code and PNG figures."""

    def __init__(self, title: str, subtitle: str | None = None) -> None:
        self.title = title
        self.parts: list[str] = [f"<h1>{html.escape(title)}</h1>"]
        if subtitle:
            self.parts.append(f'<p class="sub">{html.escape(subtitle)}</p>')

    def heading(self, text: str) -> None:
        self.parts.append(f"<h2>{html.escape(text)}</h2>")

    def paragraph(self, text: str, *, css: str | None = None) -> None:
        attribute = f' class="{css}"' if css else ""
        self.parts.append(f"<p{attribute}>{html.escape(text)}</p>")

    def note(self, text: str) -> None:
        self.paragraph(text, css="note")

    def code(self, text: str) -> None:
        self.parts.append(f"<pre><code>{html.escape(text)}</code></pre>")

    def table(
        self,
        header: Sequence[str],
        rows: Sequence[Sequence[Any]],
        *,
        text_columns: int = 0,
        highlight: int | None = None,
    ) -> None:
        """A table; the first `text_columns` columns are left-aligned, row `highlight` marked."""

        def cell(tag: str, index: int, value: Any) -> str:
            css = ' class="text"' if index < text_columns else ""
            return f"<{tag}{css}>{html.escape(str(value))}</{tag}>"

        lines = ["<table>", "<tr>" + "".join(cell("th", i, h) for i, h in enumerate(header))]
        for number, row in enumerate(rows):
            css = ' class="best"' if number == highlight else ""
            lines.append(f"<tr{css}>" + "".join(cell("td", i, v) for i, v in enumerate(row)))
        lines.append("</table>")
        self.parts.append("\n".join(lines))

    def image(self, png: bytes, alt: str, caption: str | None = None) -> None:
        data = base64.b64encode(png).decode("ascii")
        text = f'<figure><img src="data:image/png;base64,{data}" alt="{html.escape(alt)}">'
        if caption:
            text += f"<figcaption>{html.escape(caption)}</figcaption>"
        self.parts.append(text + "</figure>")

    def finding(self, title: str, evidence: str, fix: str) -> None:
        self.parts.append(
            '<div class="finding">'
            f"<p><strong>{html.escape(title)}</strong></p>"
            f"<p>evidence: {html.escape(evidence)}</p>"
            f"<p>fix: {html.escape(fix)}</p></div>"
        )

    def render(self) -> str:
        body = "\n".join(self.parts)
        return (
            "<!DOCTYPE html>\n"
            '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            # A data-URI favicon: without one, browsers request /favicon.ico and log an error.
            '<link rel="icon" href="data:,">\n'
            f"<title>{html.escape(self.title)}</title>\n<style>{STYLE}</style>\n</head>\n"
            f"<body>\n{body}\n</body>\n</html>\n"
        )

    def save(self, path: str | os.PathLike) -> Path:
        with atomic_write(path, "w") as handle:
            handle.write(self.render())
        return Path(path)
