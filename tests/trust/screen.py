"""What the console has drawn, read back from its SVG export: what a terminal would show."""

from __future__ import annotations

import html
import re

from textual.app import App


def svg_text(svg: str) -> str:
    """The characters of an SVG screenshot, one line per drawn text run."""
    spans = re.findall(r"<text[^>]*>(.*?)</text>", svg, flags=re.S)
    return "\n".join(html.unescape(re.sub(r"<[^>]+>", "", span)) for span in spans).replace("\xa0", " ")


def screen_text(app: App) -> str:  # type: ignore[type-arg]
    return svg_text(app.export_screenshot())
