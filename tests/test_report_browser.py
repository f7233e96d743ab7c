"""The report pages in a real browser (headless Chromium): no console error, every <audio> decodes to a
positive duration, every <img> loads; a screenshot of each. Skipped where no Chromium is installed."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import invoke

BROWSER = next((shutil.which(b) for b in ("chromium", "chromium-browser", "google-chrome") if shutil.which(b)), None)
pytestmark = pytest.mark.skipif(BROWSER is None, reason="no headless Chromium here (apt-get install chromium)")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--autoplay-policy=no-user-gesture-required",
         "--hide-scrollbars"]

#: injected into a copy of the page (same folder, so relative paths resolve): records errors, then, once
#: loaded, every image's natural width and every audio element's decoded duration into a <pre>
PROBE = """<script>
window.__errors = [];
window.addEventListener('error', e => window.__errors.push(String(e.message || (e.target && (e.target.src
  || e.target.getAttribute('src'))) || e)), true);
const origError = console.error;
console.error = (...a) => { window.__errors.push(a.join(' ')); origError(...a); };
window.addEventListener('load', async () => {
  const imgs = [...document.images].map(i => ({src: i.getAttribute('src'), width: i.naturalWidth}));
  const audios = await Promise.all([...document.querySelectorAll('audio')].map(a => new Promise(done => {
    const s = a.querySelector('source') || a;
    const finish = ok => done({src: s.getAttribute('src'), duration: a.duration, ok, error: a.error && a.error.code});
    if (a.readyState >= 2) return finish(true);
    a.addEventListener('loadeddata', () => finish(true), {once: true});
    s.addEventListener('error', () => finish(false), {once: true});
    a.preload = 'auto'; a.load();
    setTimeout(() => finish(false), 10000);
  })));
  const pre = document.createElement('pre'); pre.id = 'probe-result';
  pre.textContent = JSON.stringify({imgs, audios, errors: window.__errors});
  document.body.appendChild(pre);
});
</script>"""


def probe(page: Path, extra_html: str = "") -> dict:
    """Open ``page`` (with ``extra_html`` appended to its body) in Chromium; what the probe found."""
    copy = page.parent / "_browser_probe.html"
    text = page.read_text().replace("<head>", "<head>" + PROBE, 1).replace("</body>", extra_html + "</body>")
    copy.write_text(text)
    try:
        res = subprocess.run([BROWSER, *FLAGS, "--virtual-time-budget=20000", "--enable-logging=stderr", "--v=0",
                              "--dump-dom", copy.as_uri()], capture_output=True, text=True, timeout=120)
    finally:
        copy.unlink()
    m = re.search(r'<pre id="probe-result">(.*?)</pre>', res.stdout, re.S)
    assert m, f"the probe did not run: {res.stderr[-2000:]}"
    import html

    out = json.loads(html.unescape(m.group(1)))
    # messages the page itself logged (Chromium's own dbus/gpu noise is not the page's)
    out["errors"] += [ln for ln in res.stderr.splitlines() if "CONSOLE" in ln and "_browser_probe" in ln
                      and "error" in ln.lower()]
    return out


def screenshot(page: Path, path: Path, height: int = 2400) -> Path:
    subprocess.run([BROWSER, *FLAGS, f"--screenshot={path}", f"--window-size=1200,{height}", page.as_uri()],
                   capture_output=True, timeout=120, check=True)
    assert path.stat().st_size > 10_000
    return path


def check_page(page: Path, n_audio: int, n_img: int) -> dict:
    r = probe(page)
    assert r["errors"] == [], r["errors"]
    assert len(r["audios"]) >= n_audio and len(r["imgs"]) >= n_img, r
    bad_audio = [a for a in r["audios"] if not (a["ok"] and a["duration"] and a["duration"] > 0)]
    bad_img = [i for i in r["imgs"] if not i["width"] > 0]
    assert not bad_audio and not bad_img, (bad_audio, bad_img)
    return r


def test_audio_run_page_in_a_browser(tiny_run, tmp_path):
    page = tiny_run / "report" / "index.html"
    r = check_page(page, n_audio=5 + 6 + 1 + 3, n_img=5)
    assert any(a["duration"] >= 9.9 for a in r["audios"])  # the 10 s stream
    screenshot(page, tmp_path / "audio.png")


def test_the_probe_sees_a_broken_player_and_image(tiny_run):
    (tiny_run / "report" / "assets" / "_not_audio.wav").write_text("not audio")
    try:
        r = probe(tiny_run / "report" / "index.html",
                  '<audio controls><source src="assets/_not_audio.wav" type="audio/wav"></audio>'
                  '<img src="assets/_missing.png">')
    finally:
        (tiny_run / "report" / "assets" / "_not_audio.wav").unlink()
    assert not r["audios"][-1]["ok"] and r["imgs"][-1]["width"] == 0 and r["errors"]


def test_image_run_page_in_a_browser(mnist_run, tmp_path):
    page = mnist_run / "report" / "index.html"
    check_page(page, n_audio=0, n_img=4)
    screenshot(page, tmp_path / "image.png")


def test_comparison_page_in_a_browser(tiny_run, mnist_run, tmp_path):
    invoke("report", tiny_run, mnist_run, "--out", tmp_path / "cmp")
    page = tmp_path / "cmp" / "index.html"
    check_page(page, n_audio=5, n_img=4)
    screenshot(page, tmp_path / "comparison.png")
