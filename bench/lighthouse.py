#!/usr/bin/env python3
"""Lighthouse's four category scores for the login page and the chat page with a conversation open.

Starts run.py (with its private MariaDB in a temporary --var-dir), makes two users, a group,
a few messages and an image through the API, signs one of them in (``POST /api/session``; its
``Set-Cookie: chat_session=...`` goes to Lighthouse with ``--extra-headers``), runs Lighthouse
12.2.3 on ``/login`` and on ``/``, prints a table of the scores and stops everything. A
measurement, not a test: the performance score moves from run to run (``--runs N`` takes the
median of N). The reports (JSON and HTML) stay in ``--out``.

    python bench/lighthouse.py                  # mobile (Lighthouse's default form factor)
    python bench/lighthouse.py --runs 3 --preset desktop
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
LIGHTHOUSE = "lighthouse@12.2.3"
CHROME_PATH = "/usr/bin/chromium"
CHROME_FLAGS = (
    "--headless=new --no-sandbox --disable-gpu --disable-background-networking "
    "--disable-component-update --no-first-run"
)
CATEGORIES = ("performance", "accessibility", "best-practices", "seo")
PASSWORD = "correct horse battery"
STARTUP_TIMEOUT = 120.0  # the first start of the private MariaDB creates its data directory


class Failed(Exception):
    pass


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def call(base: str, method: str, path: str, body: Any = None, *, token: str | None = None,
         data: bytes | None = None, content_type: str = "application/json") -> tuple[Any, Any]:
    """One API request; returns the decoded JSON answer and the response headers."""
    headers = {"Content-Type": content_type}
    if body is not None:
        data = json.dumps(body).encode()
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(base + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            raw = response.read()
            return (json.loads(raw) if raw else None), response.headers
    except urllib.error.HTTPError as exc:
        raise Failed(f"{method} {path}: {exc.code} {exc.read()[:300]!r}") from exc


def png(size: tuple[int, int], colour: tuple[int, int, int]) -> bytes:
    from PIL import Image  # a dependency of the app itself

    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, "PNG")
    return out.getvalue()


def make_conversation(base: str) -> str:
    """Ana and Bob in a group with a few messages and an image; returns Bob's cookies, signed in."""
    tag = uuid.uuid4().hex[:8]
    users = {}
    for name in ("ana", "bob"):
        answer, _ = call(base, "POST", "/api/users", {"username": f"{name}_{tag}", "password": PASSWORD})
        users[name] = answer["token"]
    group, _ = call(base, "POST", "/api/groups", {"name": f"Lighthouse {tag}"}, token=users["ana"])
    gid = group["group"]["id"]
    call(base, "PUT", f"/api/groups/{gid}/membership", token=users["bob"])
    call(base, "POST", "/api/groups", {"name": f"Another {tag}"}, token=users["ana"])
    for who, text in [
        ("ana", "Hi Bob! The notes are at https://example.org/notes"),
        ("bob", "Thanks Ana,\nI will read them tonight."),
    ]:
        call(base, "POST", f"/api/groups/{gid}/messages", {"text": text}, token=users[who])
    boundary = "lh" + uuid.uuid4().hex
    image = png((640, 480), (40, 120, 200))
    multipart = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="image"; filename="chart.png"\r\n'
        f"Content-Type: image/png\r\n\r\n"
    ).encode() + image + f"\r\n--{boundary}--\r\n".encode()
    call(base, "POST", f"/api/groups/{gid}/images", data=multipart, token=users["ana"],
         content_type=f"multipart/form-data; boundary={boundary}")
    call(base, "POST", f"/api/groups/{gid}/messages", {"text": "That is the chart."}, token=users["ana"])

    # Both cookies that signing in sets go in the header. Lighthouse's --extra-headers Cookie
    # is sent only while the browser has no cookie of its own for the site: had the page set
    # _xsrf (it does when the request has none), the browser's Cookie header would replace
    # ours on the next requests, the session would be gone and the page would go to /login.
    _, headers = call(base, "POST", "/api/session", {"username": f"bob_{tag}", "password": PASSWORD})
    cookies = {}
    for header in headers.get_all("Set-Cookie") or []:
        jar: SimpleCookie = SimpleCookie()
        jar.load(header)
        cookies.update({name: morsel.value for name, morsel in jar.items()})
    if "chat_session" not in cookies:
        raise Failed("POST /api/session set no chat_session cookie")
    return "; ".join(f"{name}={value}" for name, value in cookies.items() if name in ("chat_session", "_xsrf"))


def start_server(port: int, workdir: Path) -> subprocess.Popen[bytes]:
    command = [
        sys.executable, "run.py", "--port", str(port), "--var-dir", str(workdir / "var"), "--bcrypt-rounds", "4",
        "--register-limit", "off", "--send-limit", "off", "--upload-limit", "off",
    ]
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    with (workdir / "server.log").open("wb") as log:
        server = subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise Failed(f"run.py exited with {server.returncode}:\n{(workdir / 'server.log').read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2):
                return server
        except OSError:
            time.sleep(0.2)
    stop_server(server)
    raise Failed(f"run.py did not answer /healthz in {STARTUP_TIMEOUT:g} s")


def stop_server(server: subprocess.Popen[bytes]) -> None:
    if server.poll() is None:
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def lighthouse(url: str, report: Path, workdir: Path, cookie: str | None, preset: str | None) -> dict[str, Any]:
    """One Lighthouse run; returns the JSON report (also written, with the HTML one, next to ``report``)."""
    command = [
        "npx", "-y", LIGHTHOUSE, url, "--quiet", "--output=json", "--output=html", f"--output-path={report}",
        f"--chrome-flags={CHROME_FLAGS}", f"--only-categories={','.join(CATEGORIES)}",
    ]
    if cookie:
        headers = workdir / "headers.json"
        headers.write_text(json.dumps({"Cookie": cookie}))
        command.append(f"--extra-headers={headers}")
    if preset:
        command.append(f"--preset={preset}")
    env = {**os.environ, "CHROME_PATH": CHROME_PATH}
    done = subprocess.run(command, cwd=workdir, env=env, capture_output=True, text=True)
    json_report = report.with_name(report.name + ".report.json")
    if done.returncode != 0 or not json_report.exists():
        raise Failed(f"lighthouse on {url} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return json.loads(json_report.read_text())


def scores(result: dict[str, Any]) -> dict[str, float | None]:
    return {c: result["categories"][c]["score"] for c in CATEGORIES}


def failing_accessibility_audits(result: dict[str, Any]) -> list[str]:
    refs = result["categories"]["accessibility"]["auditRefs"]
    audits = result["audits"]
    return sorted(r["id"] for r in refs if r["weight"] > 0 and audits[r["id"]]["score"] not in (None, 1))


def table(rows: dict[str, dict[str, float | None]]) -> str:
    lines = ["| page | " + " | ".join(CATEGORIES) + " |", "|---|" + "---:|" * len(CATEGORIES)]
    for page, values in rows.items():
        cells = ["–" if values[c] is None else f"{round(values[c] * 100)}" for c in CATEGORIES]
        lines.append(f"| {page} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=1, help="runs per page; the table shows the medians")
    parser.add_argument("--preset", choices=["desktop"], help="Lighthouse's desktop preset (default: mobile)")
    parser.add_argument("--port", type=int, default=0, help="port for run.py (default: a free one)")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "test-artifacts" / "lighthouse",
                        help="where the reports go (default: %(default)s)")
    args = parser.parse_args(argv)
    if shutil.which("npx") is None:
        print("lighthouse.py: npx is missing (Debian: apt-get install nodejs npm)", file=sys.stderr)
        return 1
    if not Path(CHROME_PATH).exists():
        print(f"lighthouse.py: {CHROME_PATH} is missing (scripts/ensure-browser installs it)", file=sys.stderr)
        return 1
    args.out.mkdir(parents=True, exist_ok=True)
    port = args.port or free_port()
    base = f"http://127.0.0.1:{port}"
    workdir = Path(tempfile.mkdtemp(prefix="lighthouse-"))
    server = None
    try:
        server = start_server(port, workdir)
        cookie = make_conversation(base)
        pages = {"/login": (base + "/login", None), "chat (/)": (base + "/", cookie)}
        medians: dict[str, dict[str, float | None]] = {}
        failing: dict[str, list[str]] = {}
        for name, (url, page_cookie) in pages.items():
            runs = []
            for i in range(args.runs):
                stem = "chat" if page_cookie else "login"
                result = lighthouse(url, args.out / f"{stem}-{i + 1}", workdir, page_cookie, args.preset)
                if result.get("runtimeError"):
                    raise Failed(f"lighthouse on {url}: {result['runtimeError']}")
                if result["finalDisplayedUrl"].rstrip("/") != url.rstrip("/"):
                    raise Failed(f"lighthouse on {url} ended on {result['finalDisplayedUrl']} (signed out?)")
                runs.append(scores(result))
                failing[name] = failing_accessibility_audits(result)
            medians[name] = {
                c: None if any(r[c] is None for r in runs) else statistics.median(r[c] for r in runs)  # type: ignore[misc]
                for c in CATEGORIES
            }
    except Failed as exc:
        print(f"lighthouse.py: {exc}", file=sys.stderr)
        return 1
    finally:
        if server is not None:
            stop_server(server)
        shutil.rmtree(workdir, ignore_errors=True)
    form = args.preset or "mobile"
    print(f"Lighthouse {LIGHTHOUSE.split('@')[1]}, {form}, median of {args.runs} run(s); reports in {args.out}")
    print(table(medians))
    for name, audits in failing.items():
        print(f"{name}: accessibility audits failed: {', '.join(audits) or 'none'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
