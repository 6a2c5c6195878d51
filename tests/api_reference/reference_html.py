"""Reading the reference page back: the visible text of each element with an id, every link
target, and whether the tags nest properly."""

from __future__ import annotations

from html.parser import HTMLParser

VOID = {"meta", "br", "hr", "img", "link", "input", "col", "wbr"}


class ReferencePage(HTMLParser):
    """A parsed page: `texts[id]` is the text inside the element with that id, `headings[id]`
    the text of its last <h3>."""

    def __init__(self, page: str) -> None:
        super().__init__(convert_charrefs=True)
        self.texts: dict[str, str] = {}
        self.duplicate_ids: list[str] = []
        self.links: list[str] = []
        self.sources: list[str] = []
        self.tags: list[str] = []
        self.misnested: list[str] = []
        self.headings: dict[str, str] = {}
        self._heading: str | None = None
        self._open: list[tuple[str, str | None]] = []
        self.feed(page)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        """Note the tag, its id and any address it loads or links to."""
        values = dict(attrs)
        self.tags.append(tag)
        for name in ("href", "src", "action", "formaction", "poster"):
            if values.get(name) is not None:
                (self.links if name == "href" else self.sources).append(str(values[name]))
        if tag in VOID:
            return
        element_id = values.get("id")
        if element_id is not None:
            if element_id in self.texts:
                self.duplicate_ids.append(element_id)
            self.texts[element_id] = ""
        if tag == "h3":
            self._heading = ""
        self._open.append((tag, element_id))

    def handle_endtag(self, tag: str) -> None:
        """Close the innermost element, which must be this tag."""
        if tag in VOID:
            return
        if not self._open or self._open[-1][0] != tag:
            self.misnested.append(tag)
            return
        self._open.pop()
        if tag == "h3" and self._heading is not None:
            owners = [element_id for _, element_id in self._open if element_id is not None]
            if owners:
                self.headings[owners[-1]] = self._heading
            self._heading = None

    def handle_data(self, data: str) -> None:
        """Add the text to every open element with an id, and to the open heading."""
        if self._heading is not None:
            self._heading += data
        for _tag, element_id in self._open:
            if element_id is not None:
                self.texts[element_id] += data

    @property
    def unclosed(self) -> list[str]:
        """Tags opened and never closed (html, head and body included)."""
        return [tag for tag, _ in self._open]
