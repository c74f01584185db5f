#!/usr/bin/env python3
"""Reads every feed file under FEEDS_DIR with Python feedparser, as a reader would.

usage: check_feeds.py FEEDS_DIR EXPECTED_JSON
EXPECTED_JSON maps a feed folder ("all", "section/…", "keyword/…") to its item titles,
newest first; a key ending in a page number ("all/archive/2") names that archive page
instead (2.xml, 2.atom.xml and 2.json). Each of rss.xml, atom.xml and feed.json there must parse with bozo == 0,
carry exactly those titles in that order, and give every entry an id, an absolute link
and dates with an offset. Prints one line per problem; exits 1 if there was any.

feedparser 6.0 (the newest on PyPI) reads RSS and Atom but not JSON Feed, so feed.json is
held to JSON Feed 1.1 here directly: required keys and types, absolute URLs, RFC 3339
dates with an offset.
"""
import json
import re
import sys
from datetime import datetime
from pathlib import Path

import feedparser

RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")


def check_json_feed(where, data, titles, problems):
    try:
        feed = json.loads(data)
    except ValueError as e:
        problems.append(f"{where}: not JSON: {e}")
        return
    if feed.get("version") != "https://jsonfeed.org/version/1.1":
        problems.append(f"{where}: version {feed.get('version')!r}")
    if not isinstance(feed.get("title"), str) or not feed["title"]:
        problems.append(f"{where}: no title")
    for key in ("home_page_url", "feed_url"):
        if not str(feed.get(key, "")).startswith(("http://", "https://")):
            problems.append(f"{where}: {key} not absolute")
    items = feed.get("items")
    if not isinstance(items, list):
        problems.append(f"{where}: items is not a list")
        return
    got = [i.get("title") for i in items]
    if got != titles:
        problems.append(f"{where}: titles {got[:3]}… != expected {titles[:3]}…")
    for i in items:
        if not isinstance(i.get("id"), str) or not i["id"]:
            problems.append(f"{where}: item without a string id")
        if not str(i.get("url", "")).startswith(("http://", "https://")):
            problems.append(f"{where}: relative url {i.get('url')!r}")
        if not isinstance(i.get("content_html"), str):
            problems.append(f"{where}: item without content_html")
        for key in ("date_published", "date_modified"):
            value = i.get(key, "")
            if not RFC3339.match(value):
                problems.append(f"{where}: {key} {value!r} is not RFC 3339 with an offset")
            else:
                datetime.fromisoformat(value.replace("Z", "+00:00"))
        for a in i.get("authors", []):
            if not isinstance(a.get("name"), str):
                problems.append(f"{where}: author without name")
        if not all(isinstance(t, str) for t in i.get("tags", [])):
            problems.append(f"{where}: tags must be strings")

feeds_dir, expected = Path(sys.argv[1]), json.loads(Path(sys.argv[2]).read_text())
problems = []
for folder, titles in expected.items():
    parent, _, last = folder.rpartition("/")
    names = ("rss.xml", "atom.xml", "feed.json")
    if last.isdigit():
        folder, names = parent, (f"{last}.xml", f"{last}.atom.xml", f"{last}.json")
    for name in names:
        path = feeds_dir / folder / name
        where = f"{folder}/{name}"
        if name.endswith(".json"):
            check_json_feed(where, path.read_bytes(), titles, problems)
            continue
        parsed = feedparser.parse(path.read_bytes())
        if parsed.bozo:
            problems.append(f"{where}: bozo: {parsed.bozo_exception!r}")
            continue
        got = [e.get("title") for e in parsed.entries]
        if got != titles:
            problems.append(f"{where}: titles {got[:3]}… != expected {titles[:3]}… ({len(got)} vs {len(titles)})")
        for e in parsed.entries:
            if not e.get("id"):
                problems.append(f"{where}: entry without id")
            if not e.get("link", "").startswith(("http://", "https://")):
                problems.append(f"{where}: relative link {e.get('link')!r}")
            if not e.get("published_parsed"):
                problems.append(f"{where}: entry without a parseable published date")
        if not parsed.feed.get("title"):
            problems.append(f"{where}: feed without title")
for p in problems:
    print(p)
sys.exit(1 if problems else 0)
