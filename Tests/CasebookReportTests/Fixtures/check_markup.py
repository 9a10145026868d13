#!/usr/bin/env python3
"""Strict checks of Casebook report markup, for the tests.

usage: check_markup.py html|svg FILE
Prints JSON: {"ok": bool, "errors": [...], "tags": {tag: count}, "title": str}.
html: well-formed (every non-void element closed, in order), only the elements a report uses,
no event-handler attributes, no references outside the file (src, external href, url() other
than url(#id), @import, http(s) in attributes or CSS).
svg: parses as XML, root <svg>, no script/foreignObject/image, no on* attributes, no href.
"""
import json, re, sys
from html.parser import HTMLParser
import xml.etree.ElementTree as ET

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
ALLOWED = {"html", "head", "meta", "title", "style", "body", "main", "header", "section", "nav", "article",
           "h1", "h2", "h3", "h4", "p", "span", "strong", "em", "a", "ul", "ol", "li", "dl", "dt", "dd", "div",
           "figure", "table", "caption", "thead", "tbody", "tr", "th", "td", "code", "pre", "details", "summary",
           # inline SVG (the HTML parser lowercases names)
           "svg", "rect", "line", "path", "circle", "text", "defs", "pattern", "marker", "g", "tspan"}
SVG_FORBIDDEN = {"script", "foreignobject", "image", "use", "a", "iframe", "animate", "set"}

def attr_errors(tag, attrs, errors):
    for name, value in attrs:
        name = (name or "").lower()
        value = value or ""
        if name.startswith("on"):
            errors.append(f"event handler attribute {name} on <{tag}>")
        if name in ("src", "srcset", "action", "formaction", "xlink:href", "background", "poster", "data"):
            errors.append(f"external-reference attribute {name} on <{tag}>")
        if name == "href" and not value.startswith("#"):
            errors.append(f"href to {value!r} on <{tag}>")
        if name == "style":
            errors.append(f"style attribute on <{tag}>")
        for m in re.finditer(r"url\(([^)]*)\)", value):
            if not m.group(1).strip().startswith("#"):
                errors.append(f"url({m.group(1)}) in {name} on <{tag}>")
        if re.search(r"(?i)(https?:|javascript:|data:)", value) and not (tag == "meta" and name == "content" and value.startswith("default-src")):
            errors.append(f"URL in {name}={value!r} on <{tag}>")

class Checker(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack, self.errors, self.tags, self.title, self.in_title, self.in_style, self.css = [], [], {}, "", False, False, ""
        self.doctype = False
    def handle_decl(self, decl):
        if decl.lower() == "doctype html": self.doctype = True
    def handle_starttag(self, tag, attrs):
        self.tags[tag] = self.tags.get(tag, 0) + 1
        if tag not in ALLOWED: self.errors.append(f"unexpected element <{tag}>")
        attr_errors(tag, attrs, self.errors)
        if tag == "title" and not self.stack[-1:] == ["head"]:
            pass
        if tag not in VOID: self.stack.append(tag)
        if tag == "title" and "svg" not in self.stack: self.in_title = True
        if tag == "style": self.in_style = True
    def handle_startendtag(self, tag, attrs):
        self.tags[tag] = self.tags.get(tag, 0) + 1
        if tag not in ALLOWED: self.errors.append(f"unexpected element <{tag}/>")
        attr_errors(tag, attrs, self.errors)
    def handle_endtag(self, tag):
        if tag in VOID: return
        if not self.stack:
            self.errors.append(f"</{tag}> with nothing open"); return
        if self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes <{self.stack[-1]}> (open: {'/'.join(self.stack)})")
            if tag in self.stack:
                while self.stack and self.stack.pop() != tag: pass
            return
        self.stack.pop()
        if tag == "title": self.in_title = False
        if tag == "style": self.in_style = False
    def handle_data(self, data):
        if self.in_title: self.title += data
        if self.in_style: self.css += data

def check_html(text):
    c = Checker()
    c.feed(text); c.close()
    if c.stack: c.errors.append("unclosed elements at the end: " + "/".join(c.stack))
    if not c.doctype: c.errors.append("no <!DOCTYPE html>")
    if re.search(r"(?i)url\((?!\s*#)", c.css): c.errors.append("url() in CSS")
    if re.search(r"(?i)@import|https?:", c.css): c.errors.append("@import or URL in CSS")
    return {"ok": not c.errors, "errors": c.errors[:50], "tags": c.tags, "title": c.title}

def check_svg(text):
    errors, tags = [], {}
    try:
        root = ET.fromstring(text.encode("utf-8"))
    except ET.ParseError as e:
        return {"ok": False, "errors": [f"not well-formed XML: {e}"], "tags": {}, "title": ""}
    if root.tag.split("}")[-1] != "svg": errors.append(f"root is {root.tag}")
    title = ""
    for el in root.iter():
        tag = el.tag.split("}")[-1].lower()
        tags[tag] = tags.get(tag, 0) + 1
        if tag in SVG_FORBIDDEN: errors.append(f"forbidden element <{tag}>")
        if tag == "title" and not title: title = el.text or ""
        attr_errors(tag, [(k.split("}")[-1], v) for k, v in el.attrib.items() if k != "xmlns"], errors)
    return {"ok": not errors, "errors": errors[:50], "tags": tags, "title": title}

if __name__ == "__main__":
    mode, path = sys.argv[1], sys.argv[2]
    text = open(path, encoding="utf-8").read()
    print(json.dumps(check_html(text) if mode == "html" else check_svg(text)))
