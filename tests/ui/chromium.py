"""Debian's Chromium, headless, driven over the Chrome DevTools Protocol.

The least that a browser test needs: load a URL, evaluate JavaScript in the
page, wait for a condition, take a screenshot. One websocket (aiohttp, which
Folio already installs) to the page target; no browser download, no driver
binary, no framework.
"""
from __future__ import annotations

import asyncio
import base64
import itertools
import json
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import aiohttp

CHROMIUM = os.environ.get("FOLIO_TEST_CHROMIUM", "/usr/bin/chromium")


def chromium_path() -> str | None:
    """The browser to drive, if this machine has it (`apt-get install chromium`)."""
    return CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium")


class PageError(AssertionError):
    """JavaScript threw in the page, or a condition never held."""


class Chromium:
    def __init__(self, executable: str, profile_dir: Path, width: int = 1280, height: int = 1000) -> None:
        self.executable = executable
        self.profile_dir = profile_dir
        self.size = (width, height)
        self.process: subprocess.Popen | None = None
        self._http: aiohttp.ClientSession | None = None
        self._socket: aiohttp.ClientWebSocketResponse | None = None
        self._reader: asyncio.Task | None = None
        self._ids = itertools.count(1)
        self._waiting: dict[int, asyncio.Future] = {}
        self.console: list[str] = []  # the page's errors: exceptions, console.error, CSP violations

    async def start(self, timeout: float = 60.0) -> Chromium:
        self.profile_dir.mkdir(parents=True, exist_ok=True)
        args = [self.executable, "--headless=new", "--remote-debugging-port=0", "--remote-debugging-address=127.0.0.1",
                f"--user-data-dir={self.profile_dir}", "--no-first-run", "--no-default-browser-check",
                "--disable-gpu", "--disable-dev-shm-usage", "--disable-extensions",
                f"--window-size={self.size[0]},{self.size[1]}", "about:blank"]
        if os.geteuid() == 0:  # Chromium refuses to run its sandbox as root (CI containers)
            args.insert(1, "--no-sandbox")
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        port_file = self.profile_dir / "DevToolsActivePort"
        deadline = time.monotonic() + timeout
        while not (port_file.exists() and port_file.read_text().strip()):
            if self.process.poll() is not None:
                raise RuntimeError(f"chromium exited with {self.process.returncode} before listening")
            if time.monotonic() > deadline:
                raise TimeoutError("chromium did not open its DevTools port")
            await asyncio.sleep(0.1)
        port = int(port_file.read_text().split()[0])
        self._http = aiohttp.ClientSession()
        async with self._http.get(f"http://127.0.0.1:{port}/json/list") as answer:
            targets = await answer.json()
        page = next(t for t in targets if t["type"] == "page")
        self._socket = await self._http.ws_connect(page["webSocketDebuggerUrl"], max_msg_size=0)
        self._reader = asyncio.create_task(self._read())
        await self.send("Runtime.enable")
        await self.send("Log.enable")
        await self.send("Page.enable")
        await self.send("Emulation.setDeviceMetricsOverride", width=self.size[0], height=self.size[1],
                        deviceScaleFactor=1, mobile=False)
        return self

    async def _read(self) -> None:
        assert self._socket is not None
        async for message in self._socket:
            data = json.loads(message.data)
            if "id" in data:
                future = self._waiting.pop(data["id"], None)
                if future is not None and not future.done():
                    future.set_result(data)
            elif data.get("method") == "Runtime.exceptionThrown":
                self.console.append(json.dumps(data["params"]["exceptionDetails"])[:2000])
            elif data.get("method") == "Runtime.consoleAPICalled" and data["params"]["type"] == "error":
                self.console.append(json.dumps(data["params"]["args"])[:2000])
            elif data.get("method") == "Log.entryAdded":
                entry = data["params"]["entry"]
                # Content-Security-Policy violations and the like; a failed request (a 404 the page
                # expects, e.g. an endpoint the API does not have) is the page's to handle.
                if entry["level"] == "error" and entry["source"] != "network":
                    self.console.append(json.dumps(entry)[:2000])

    async def send(self, method: str, **params: Any) -> dict:
        assert self._socket is not None
        call_id = next(self._ids)
        future = asyncio.get_running_loop().create_future()
        self._waiting[call_id] = future
        await self._socket.send_str(json.dumps({"id": call_id, "method": method, "params": params}))
        answer = await asyncio.wait_for(future, timeout=60)
        if "error" in answer:
            raise PageError(f"{method}: {answer['error']}")
        return answer["result"]

    async def evaluate(self, expression: str) -> Any:
        """The expression's value in the page (awaited if it is a promise), as JSON."""
        result = await self.send("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise PageError(f"{expression[:200]}: {result['exceptionDetails']}")
        return result["result"].get("value")

    async def navigate(self, url: str) -> None:
        await self.send("Page.navigate", url=url)

    async def wait_for(self, expression: str, timeout: float = 60.0, what: str = "") -> Any:
        """Evaluate until the value is truthy; fail with the last value (and the page's errors) after `timeout`."""
        deadline = time.monotonic() + timeout
        value = None
        while time.monotonic() < deadline:
            try:
                value = await self.evaluate(expression)
            except PageError as exc:  # e.g. the page is between documents
                value = str(exc)
            else:
                if value:
                    return value
            await asyncio.sleep(0.2)
        raise PageError(f"never held within {timeout:.0f} s: {what or expression}; last value {value!r}; "
                        f"page errors: {self.console[-5:]}")

    async def screenshot(self, path: Path) -> None:
        """The whole page as a PNG (the viewport grown to the document's height)."""
        height = await self.evaluate("Math.ceil(document.documentElement.scrollHeight)")
        await self.send("Emulation.setDeviceMetricsOverride", width=self.size[0], height=max(int(height), 200),
                        deviceScaleFactor=1, mobile=False)
        shot = await self.send("Page.captureScreenshot", format="png")
        await self.send("Emulation.setDeviceMetricsOverride", width=self.size[0], height=self.size[1],
                        deviceScaleFactor=1, mobile=False)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(shot["data"]))

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
        if self._socket is not None:
            await self._socket.close()
        if self._http is not None:
            await self._http.close()
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
