#!/usr/bin/env python3
"""Reads every feed file under FEEDS_DIR with Python feedparser, as a reader would.

usage: check_feeds.py FEEDS_DIR EXPECTED_JSON
EXPECTED_JSON maps a feed folder ("all", "section/…", "keyword/…") to its item titles,
newest first. Each of rss.xml, atom.xml and feed.json there must parse with bozo == 0,
carry exactly those titles in that order, and give every entry an id, an absolute link
and dates with an offset. Prints one line per problem; exits 1 if there was any.
"""
import json
import sys
from pathlib import Path

import feedparser

feeds_dir, expected = Path(sys.argv[1]), json.loads(Path(sys.argv[2]).read_text())
problems = []
for folder, titles in expected.items():
    for name in ("rss.xml", "atom.xml", "feed.json"):
        path = feeds_dir / folder / name
        parsed = feedparser.parse(path.read_bytes())
        where = f"{folder}/{name}"
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
