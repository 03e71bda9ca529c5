"""Streaming writers: each item becomes bytes the moment it is built; nothing is held.

XML is RSS 2.0 with Google's ``g:`` namespace, escaped for XML 1.0 (a carriage return as
``&#13;``, so that a parser reads it back rather than turning it into a line feed; characters
XML cannot hold never reach a writer: the rules hold such items back). TSV has a header row of
attribute names and Merchant Center's quoted fields (answer/14998273: "surround this content
with quotation marks", "pair it with a second quotation mark"; quoted fields are on by default
for new data sources), so a value carries tabs, line breaks and quotes unchanged and reads
back as the XML does. CSV follows RFC 4180 quoting (what Meta asks for). List values
(additional images) are repeated elements in XML and comma-separated in TSV and CSV; image
URLs never hold a raw comma (encoded as %2C when the item is built).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Protocol

from channelhub.feeds.model import GOOGLE_NAMESPACE, LIST_COLUMNS, LIST_SEPARATOR, FeedFormat

#: Characters XML 1.0 cannot hold at all (not even escaped).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_CSV_SPECIAL = re.compile('[,"\r\n]')
_TSV_SPECIAL = re.compile('["\t\r\n]')


_ESCAPE = re.compile("[&<>\r]")
#: What XML cannot hold, but NUL (the item's own value separator) and U+001F (the lists').
_NOT_XML_ITEM = re.compile("[\x01-\x08\x0b\x0c\x0e-\x1e\ufffe\uffff]")
_XML_SPECIAL = re.compile("[&<>\r\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def escape_xml(text: str) -> str:
    """Text escaped for an XML element (``&``, ``<``, ``>``, CR as ``&#13;``), XML-invalid
    characters dropped (a safety net: the rules hold back items that hold them)."""
    if not _XML_SPECIAL.search(text):
        return text
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    if "\r" in text:
        text = text.replace("\r", "&#13;")
    return _NOT_XML.sub("", text) if _NOT_XML.search(text) else text


def _tsv_value(text: str) -> str:
    """A TSV cell: quoted (inner quotes doubled) when it holds a quote, a tab or a line break;
    a list's values joined with commas, a value holding a comma or a quote quoted first."""
    if LIST_SEPARATOR in text:
        text = ",".join(
            '"' + one.replace('"', '""') + '"' if ("," in one or '"' in one) else one
            for one in text.split(LIST_SEPARATOR)
        )
    if _TSV_SPECIAL.search(text):
        return '"' + text.replace('"', '""') + '"'
    return text


def _csv_value(text: str) -> str:
    if LIST_SEPARATOR in text:
        text = text.replace(LIST_SEPARATOR, ",")
    if _CSV_SPECIAL.search(text):
        return '"' + text.replace('"', '""') + '"'
    return text


class FeedWriter(Protocol):
    def header(self) -> str: ...

    def item(self, values: Sequence[str]) -> str: ...

    def footer(self) -> str: ...


class XmlWriter:
    """RSS 2.0 with ``xmlns:g``: one ``<item>`` per item, one ``<g:attribute>`` per value."""

    def __init__(self, columns: Sequence[str], title: str, link: str, description: str) -> None:
        self.columns = tuple(columns)
        self.title, self.link, self.description = title, link, description
        self._open = tuple(f"<g:{c}>" for c in self.columns)
        self._close = tuple(f"</g:{c}>\n" for c in self.columns)
        self._lists = tuple(c in LIST_COLUMNS for c in self.columns)

    def header(self) -> str:
        return (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<rss version="2.0" xmlns:g="{GOOGLE_NAMESPACE}">\n<channel>\n'
            f"<title>{escape_xml(self.title)}</title>\n"
            f"<link>{escape_xml(self.link)}</link>\n"
            f"<description>{escape_xml(self.description)}</description>\n"
        )

    def item(self, values: Sequence[str]) -> str:
        """One ``<item>``. Its values have passed the rules (no character XML cannot hold),
        so they are escaped in one pass over the whole item, not one per value."""
        joined = "\x00".join(values)
        if (
            joined.count("\x00") != len(values) - 1
            or _NOT_XML_ITEM.search(joined)
            or (
                LIST_SEPARATOR in joined
                and any(
                    LIST_SEPARATOR in value
                    for value, is_list in zip(values, self._lists, strict=True)
                    if not is_list
                )
            )
        ):
            # Not validated (a character XML cannot hold): escape value by value.
            values = [
                LIST_SEPARATOR.join(escape_xml(one) for one in value.split(LIST_SEPARATOR))
                if is_list
                else escape_xml(value)
                for value, is_list in zip(values, self._lists, strict=True)
            ]
        elif _ESCAPE.search(joined):
            joined = joined.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            values = joined.replace("\r", "&#13;").split("\x00")
        parts = ["<item>\n"]
        append = parts.append
        for open_tag, close_tag, is_list, value in zip(
            self._open, self._close, self._lists, values, strict=True
        ):
            if not value:
                continue
            if is_list:
                for one in value.split(LIST_SEPARATOR):
                    append(open_tag + one + close_tag)
            else:
                append(open_tag + value + close_tag)
        append("</item>\n")
        return "".join(parts)

    def footer(self) -> str:
        return "</channel>\n</rss>\n"


class TsvWriter:
    """Tab-separated values with a header row of attribute names (Merchant Center's text feed)."""

    def __init__(self, columns: Sequence[str]) -> None:
        self.columns = tuple(columns)

    def header(self) -> str:
        return "\t".join(self.columns) + "\n"

    def item(self, values: Sequence[str]) -> str:
        return "\t".join([_tsv_value(v) for v in values]) + "\n"

    def footer(self) -> str:
        return ""


class CsvWriter:
    """Comma-separated values, RFC 4180 quoting, header row (Meta's catalog feed)."""

    def __init__(self, columns: Sequence[str]) -> None:
        self.columns = tuple(columns)

    def header(self) -> str:
        return ",".join(self.columns) + "\r\n"

    def item(self, values: Sequence[str]) -> str:
        return ",".join([_csv_value(v) for v in values]) + "\r\n"

    def footer(self) -> str:
        return ""


def writer_for(
    feed_format: FeedFormat, columns: Sequence[str], title: str, link: str, description: str
) -> FeedWriter:
    if feed_format is FeedFormat.XML:
        return XmlWriter(columns, title, link, description)
    if feed_format is FeedFormat.TSV:
        return TsvWriter(columns)
    return CsvWriter(columns)
