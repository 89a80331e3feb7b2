"""The search page in Debian's headless chromium: load /, type a query (the page's ?q=
hook fills the box and submits the form), wait for the results grid, compare the rendered
hits with /search's JSON, click the first hit (?play=1) and check the video element's source
and start time. Saves a screenshot under the build folder."""

import html.parser
import shutil
import subprocess
import urllib.parse

import pytest

from conftest import BUILD, Server


class PageDom(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.hits, self.video = [], None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "div" and a.get("class") == "hit":
            self.hits.append(a)
        if tag == "video" and a.get("id") == "player":
            self.video = a


def chromium(*args):
    exe = shutil.which("chromium")
    if exe is None:
        pytest.fail("Debian's chromium is needed for the browser test (scripts/install_deps.sh installs it)")
    cmd = [exe, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--hide-scrollbars",
           "--virtual-time-budget=10000", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


def test_search_page_in_chromium(media):
    server = Server(["--index", str(media["index"])])
    try:
        query = "a spinning fractal"
        url = f"{server.base}/?q={urllib.parse.quote(query)}&play=1"
        dom = PageDom()
        dom.feed(chromium("--dump-dom", url).stdout)
        expected = server("POST", "/search", {"query": query, "top": 24, "rerank": 100})
        import json

        hits = json.loads(expected[2])["hits"]
        assert len(dom.hits) == len(hits) > 0
        for shown, hit in zip(dom.hits, hits):
            assert int(shown["data-window-id"]) == hit["window_id"]
            assert shown["data-path"] == hit["path"]
            assert float(shown["data-start"]) == hit["start"] and float(shown["data-end"]) == hit["end"]
            assert abs(float(shown["data-score"]) - hit["score"]) < 1e-6
        first = hits[0]
        assert dom.video is not None, "clicking a hit did not show the player"
        assert dom.video["src"] == f"/media/videos/{first['window_id']}#t={first['start']:g},{first['end']:g}"
        assert float(dom.video["data-start"]) == first["start"]
        if "data-current-time" in dom.video:  # where the browser could decode the clip, it seeked there
            assert abs(float(dom.video["data-current-time"]) - first["start"]) < 0.5

        shot = BUILD / "test_scratch" / "search_page.png"
        shot.parent.mkdir(parents=True, exist_ok=True)
        result = chromium("--window-size=1280,900", f"--screenshot={shot}", url)
        assert shot.is_file() and shot.stat().st_size > 10000, result.stderr[-2000:]
    finally:
        assert server.stop() == 0
