"""HTML pieces of a report page: escaping, tables of metrics, players and figures; one inline style sheet.

Nothing here reads a run directory; :mod:`.html_report` gathers the content. Every page is
self-contained: assets are files beside ``index.html`` referenced by relative paths, no script,
no font or style sheet from elsewhere.
"""
from __future__ import annotations

import html
import math
from numbers import Number

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:1.5em auto;max-width:1200px;
padding:0 1em;color:#222;line-height:1.4}
h1{font-size:1.6em;margin-bottom:.2em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:1.6em}
h3{margin:1em 0 .4em}
table{border-collapse:collapse;margin:.5em 0;font-size:.9em}
th,td{border:1px solid #ddd;padding:.25em .6em;text-align:left;vertical-align:top}
th{background:#f3f3f3}td.num{text-align:right;font-variant-numeric:tabular-nums}
tr.ref td{color:#555;font-style:italic}
figure{display:inline-block;margin:.4em .8em .8em 0;vertical-align:top}
figcaption{font-size:.85em;color:#444;margin-bottom:.2em}
figure img{display:block;max-width:100%;image-rendering:pixelated}
img.spec{width:320px;height:96px;image-rendering:auto}
audio{display:block;width:320px}
pre{background:#f7f7f7;padding:.6em;overflow:auto;font-size:.85em;max-height:28em}
details summary{cursor:pointer;color:#225}
.note{color:#666;font-size:.9em}
"""


def esc(x) -> str:
    return html.escape(str(x), quote=True)


def fmt(v) -> str:
    """A metric value for a table cell: 4 significant digits, booleans and None as words."""
    if isinstance(v, bool) or v is None:
        return esc(v)
    if isinstance(v, Number):
        v = float(v)
        if math.isnan(v) or math.isinf(v):
            return esc(v)
        return f"{v:.4g}" if not float(v).is_integer() or abs(v) >= 1e6 else f"{int(v)}"
    if isinstance(v, (list, tuple)):
        return esc(", ".join(fmt(x) for x in v[:12]) + (" …" if len(v) > 12 else ""))
    return esc(v)


def flatten(d, prefix: str = "", depth: int = 3) -> dict:
    """Nested dict -> ``{"a.b.c": scalar}`` (lists of numbers kept as one value)."""
    out = {}
    if not isinstance(d, dict):
        return out
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict) and depth > 0:
            out.update(flatten(v, key + ".", depth - 1))
        elif isinstance(v, (Number, str, bool)) or v is None or (
                isinstance(v, list) and all(isinstance(x, Number) for x in v)):
            out[key] = v
    return out


def table(header: list[str], rows: list[list], ref_rows: set[int] = frozenset(), caption: str = "") -> str:
    """An HTML table; cells already HTML (str from :func:`fmt`/:func:`esc`) or plain values."""
    def cell(v):
        if isinstance(v, Markup):
            return f"<td>{v}</td>"
        return f'<td class="num">{fmt(v)}</td>' if isinstance(v, Number) and not isinstance(v, bool) else f"<td>{fmt(v)}</td>"

    head = "".join(f"<th>{esc(h)}</th>" for h in header)
    body = "".join(f'<tr{" class=ref" if i in ref_rows else ""}>' + "".join(cell(v) for v in r) + "</tr>"
                   for i, r in enumerate(rows))
    cap = f"<caption>{esc(caption)}</caption>" if caption else ""
    return f"<table>{cap}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def kv_table(d: dict) -> str:
    """Two-column table of a flattened dict."""
    return table(["key", "value"], [[k, v] for k, v in flatten(d).items()])


class Markup(str):
    """A string that is already HTML (not escaped again by :func:`table`)."""


def figure(src: str, caption: str, cls: str = "") -> Markup:
    c = f' class="{cls}"' if cls else ""
    return Markup(f'<figure><figcaption>{esc(caption)}</figcaption><img{c} src="{esc(src)}" alt="{esc(caption)}">'
                  f"</figure>")


def player(src: str, caption: str, spectrogram: str | None = None) -> Markup:
    """An ``<audio controls>`` player (WAV), with its spectrogram under it when given."""
    spec = f'<img class="spec" src="{esc(spectrogram)}" alt="spectrogram of {esc(caption)}">' if spectrogram else ""
    return Markup(f'<figure><figcaption>{esc(caption)}</figcaption><audio controls preload="metadata">'
                  f'<source src="{esc(src)}" type="audio/wav"></audio>{spec}</figure>')


def page(title: str, body: list[str]) -> str:
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>{esc(title)}</title>"
            f"<style>{CSS}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n")
