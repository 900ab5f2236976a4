"""Rich display in Jupyter: small HTML tables and inline PNGs for objects' `_repr_html_`.

Pure standard library; a picture is embedded only when matplotlib is installed (the `plot`
extra), else the table stands alone. Nothing here prints or imports IPython: Jupyter calls
`_repr_html_` itself and a terminal uses `__repr__`.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Sequence
from typing import Any

_STYLE = "border-collapse:collapse;font-family:monospace;font-size:12px"
_CELL = "padding:2px 8px;border-bottom:1px solid #ddd"


def cell_text(value: Any) -> str:
    """A value as a short table cell: floats to 4 significant digits, None as blank."""
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def html_table(
    headers: Sequence[str], rows: Sequence[Sequence[Any]], *, caption: str | None = None
) -> str:
    """An HTML table; every header and cell is escaped (class names come from users' folders)."""
    head = "".join(f'<th style="{_CELL};text-align:left">{html.escape(h)}</th>' for h in headers)
    body = "".join(
        "<tr>"
        + "".join(f'<td style="{_CELL}">{html.escape(cell_text(v))}</td>' for v in row)
        + "</tr>"
        for row in rows
    )
    title = f"<caption style='text-align:left'>{html.escape(caption)}</caption>" if caption else ""
    return f'<table style="{_STYLE}">{title}<tr>{head}</tr>{body}</table>'


def png_tag(data: bytes, *, alt: str = "", width: int | None = None) -> str:
    """An <img> holding `data` (PNG bytes) inline, so the notebook stays self-contained."""
    encoded = base64.b64encode(data).decode("ascii")
    size = f' width="{width}"' if width else ""
    return f'<img alt="{html.escape(alt)}"{size} src="data:image/png;base64,{encoded}"/>'


def have_matplotlib() -> bool:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


_FIGURE_CLASS = None


def figure(**kwargs: Any):
    """A matplotlib Figure (no pyplot: no global state, nothing opened on screen) that Jupyter
    shows as a PNG when it is a cell's value, whether or not pyplot was ever imported."""
    global _FIGURE_CLASS
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    if _FIGURE_CLASS is None:

        class NotebookFigure(Figure):
            def _repr_png_(self) -> bytes:
                import io

                buffer = io.BytesIO()
                self.savefig(buffer, format="png", facecolor="white")
                return buffer.getvalue()

        _FIGURE_CLASS = NotebookFigure
    result = _FIGURE_CLASS(**kwargs)
    FigureCanvasAgg(result)
    return result
