"""Headless Chromium (Debian's ``chromium`` package, /usr/bin/chromium) driven over the DevTools protocol on a
pipe: no browser download, no WebDriver, no network port. For tests and benchmarks that check what a person sees
of a page (its rendered text, a screenshot at a given width) and how long it takes to render.

    with Chromium() as browser:
        page = browser.open("/path/to/release-report.html", width=1280)
        page.text                      # document.body.innerText: the text as rendered (hidden text excluded)
        page.evaluate("document.querySelectorAll('table').length")
        page.screenshot("tests/output/report-1280.png")   # the whole page
        page.timing                    # navigation, first contentful paint, load (ms), wall seconds

``available()`` says whether the browser is installed (tests skip cleanly when not). The flags keep it off the
network (no component updates, no sync, no QUIC, no background requests): the pages opened here are local files.
"""
from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import tempfile
import time
from typing import Any

CHROMIUM = os.environ.get("BUILDFARM_CHROMIUM", "/usr/bin/chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-extensions", "--disable-default-apps", "--mute-audio", "--hide-scrollbars"]


def available() -> bool:
    return os.access(CHROMIUM, os.X_OK) or shutil.which("chromium") is not None


class BrowserError(RuntimeError):
    pass


class Chromium:
    """One browser process; ``open`` makes a tab per page. Use as a context manager (the process and its profile
    folder are removed at the end)."""

    def __init__(self, timeout: float = 60.0) -> None:
        self.timeout = timeout
        self._id = 0
        self._buf = b""
        self._events: list[dict] = []
        self._proc: subprocess.Popen | None = None
        self._profile = ""

    def __enter__(self) -> "Chromium":
        exe = CHROMIUM if os.access(CHROMIUM, os.X_OK) else (shutil.which("chromium") or CHROMIUM)
        self._profile = tempfile.mkdtemp(prefix="buildfarm-chromium-")
        # the DevTools pipe: the browser reads commands on fd 3 and writes answers on fd 4
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()
        child_fds = {3: to_browser_r, 4: from_browser_w}

        def setup() -> None:  # in the child: put the pipe ends on fds 3 and 4 (via copies: they may be 3 or 4)
            copies = {fd: os.dup(src) for fd, src in child_fds.items()}
            for fd, src in copies.items():
                os.dup2(src, fd)
                os.set_inheritable(fd, True)

        self._proc = subprocess.Popen(
            [exe] + FLAGS + ["--user-data-dir=" + self._profile, "--remote-debugging-pipe", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            # fds 3 and 4 are kept open past the preexec step (Popen closes the others after it)
            preexec_fn=setup, pass_fds=(3, 4), env=dict(os.environ, DBUS_SESSION_BUS_ADDRESS="/dev/null"))
        os.close(to_browser_r)
        os.close(from_browser_w)
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        if self._proc is not None:
            try:
                self.send("Browser.close", timeout=10)
            except (BrowserError, OSError):
                pass
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
            self._proc = None
            for fd in (self._to_browser, self._from_browser):
                try:
                    os.close(fd)
                except OSError:
                    pass
        if self._profile:
            shutil.rmtree(self._profile, ignore_errors=True)
            self._profile = ""

    # -- protocol --------------------------------------------------------------------------------------------
    def _read_message(self, deadline: float) -> dict:
        import select

        while b"\0" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise BrowserError("no answer from chromium within %.0f s" % self.timeout)
            ready = select.select([self._from_browser], [], [], left)[0]
            if ready:
                chunk = os.read(self._from_browser, 1 << 20)
                if not chunk:
                    raise BrowserError("chromium closed the DevTools pipe (exit code %s)"
                                       % (self._proc.poll() if self._proc else "?"))
                self._buf += chunk
        raw, self._buf = self._buf.split(b"\0", 1)
        return json.loads(raw)

    def send(self, method: str, params: dict | None = None, session: str = "", timeout: float | None = None) -> dict:
        self._id += 1
        msg: dict[str, Any] = {"id": self._id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self._to_browser, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            m = self._read_message(deadline)
            if m.get("id") == self._id:
                if "error" in m:
                    raise BrowserError("%s: %s" % (method, m["error"]))
                return m.get("result") or {}
            if "method" in m:
                self._events.append(m)

    def wait_event(self, method: str, session: str = "", timeout: float | None = None) -> dict:
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            for i, ev in enumerate(self._events):
                if ev.get("method") == method and (not session or ev.get("sessionId") == session):
                    return self._events.pop(i)
            self._events.append(self._read_message(deadline))

    def open(self, path_or_url: str, width: int = 1280, height: int = 2000) -> "Page":
        """A new tab of ``width`` x ``height`` CSS pixels showing the page, after its load event."""
        url = path_or_url if "://" in path_or_url else "file://" + os.path.abspath(path_or_url)
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        self.send("Page.enable", session=session)
        self.send("Emulation.setDeviceMetricsOverride", {"width": width, "height": height, "deviceScaleFactor": 1,
                                                         "mobile": width < 600}, session=session)
        began = time.monotonic()
        self.send("Page.navigate", {"url": url}, session=session)
        self.wait_event("Page.loadEventFired", session)
        wall = time.monotonic() - began
        return Page(self, session, target, width, height, wall)


class Page:
    def __init__(self, browser: Chromium, session: str, target: str, width: int, height: int, wall: float) -> None:
        self.browser, self.session, self.target = browser, session, target
        self.width, self.height, self.wall_seconds = width, height, wall

    def evaluate(self, expression: str) -> Any:
        r = self.browser.send("Runtime.evaluate", {"expression": expression, "returnByValue": True,
                                                   "awaitPromise": True}, session=self.session)
        if "exceptionDetails" in r:
            raise BrowserError("%s: %s" % (expression, r["exceptionDetails"]))
        return r.get("result", {}).get("value")

    @property
    def text(self) -> str:
        """The page's text as rendered (innerText: what is displayed, in reading order)."""
        return str(self.evaluate("document.body.innerText"))

    @property
    def timing(self) -> dict:
        """Milliseconds from the navigation's start: DOM content loaded, load event end, first contentful paint
        (None when the browser reports none), and the page's wall time seen from here (seconds)."""
        t = self.evaluate(
            "(() => { const n = performance.getEntriesByType('navigation')[0];"
            " const p = performance.getEntriesByName('first-contentful-paint')[0];"
            " return {dom: n.domContentLoadedEventEnd, load: n.loadEventEnd, fcp: p ? p.startTime : null,"
            " bytes: n.transferSize || n.encodedBodySize || 0}; })()")
        return dict(t or {}, wall_seconds=self.wall_seconds)

    def overflows(self) -> int:
        """How many CSS pixels the page is wider than the window (0 when it fits: no sideways scrolling)."""
        return int(self.evaluate("Math.max(0, document.documentElement.scrollWidth - window.innerWidth)"))

    def screenshot(self, path: str, full_page: bool = True) -> str:
        """A PNG of the page (the whole page's height when ``full_page``) written to ``path``."""
        params: dict[str, Any] = {"format": "png"}
        if full_page:
            h = int(self.evaluate("Math.ceil(document.documentElement.scrollHeight)"))
            params.update(captureBeyondViewport=True,
                          clip={"x": 0, "y": 0, "width": self.width, "height": max(h, 1), "scale": 1})
        data = self.browser.send("Page.captureScreenshot", params, session=self.session)["data"]
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        with open(path, "wb") as fh:
            fh.write(base64.b64decode(data))
        return path

    def close(self) -> None:
        self.browser.send("Target.closeTarget", {"targetId": self.target})


def cli_screenshot(path_or_url: str, out: str, width: int = 1280, height: int = 2000, timeout: float = 60) -> str:
    """The same screenshot through chromium's own command line (``--screenshot``), without the protocol."""
    url = path_or_url if "://" in path_or_url else "file://" + os.path.abspath(path_or_url)
    exe = CHROMIUM if os.access(CHROMIUM, os.X_OK) else (shutil.which("chromium") or CHROMIUM)
    with tempfile.TemporaryDirectory(prefix="buildfarm-chromium-") as profile:
        subprocess.run([exe] + FLAGS + ["--user-data-dir=" + profile, "--screenshot=" + os.path.abspath(out),
                                        "--window-size=%d,%d" % (width, height), url],
                       stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       timeout=timeout, check=True)
    return out


def dump_dom(path_or_url: str, timeout: float = 60) -> str:
    """The page's DOM after loading, as chromium's ``--dump-dom`` prints it."""
    url = path_or_url if "://" in path_or_url else "file://" + os.path.abspath(path_or_url)
    exe = CHROMIUM if os.access(CHROMIUM, os.X_OK) else (shutil.which("chromium") or CHROMIUM)
    with tempfile.TemporaryDirectory(prefix="buildfarm-chromium-") as profile:
        return subprocess.run([exe] + FLAGS + ["--user-data-dir=" + profile, "--dump-dom", url],
                              stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout,
                              check=True).stdout
