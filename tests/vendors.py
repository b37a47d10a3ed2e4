"""Offline vendors for the store tests: FRED as a loopback HTTP server serving recorded ``fredgraph.csv`` bodies,
Yahoo as recorded ``yfinance`` frames handed over at the download-function boundary. Both publish only up to a
date the test sets (``published``), so a test can walk evenings forward; both can be told to fail or restate."""
from __future__ import annotations

import http.server
import io
import threading
import time
import urllib.parse
from pathlib import Path

import pandas as pd

RECORDED = Path(__file__).parent / "recorded"


class FredServer:
    """``GET /fredgraph.csv?id=SERIES[&cosd=YYYY-MM-DD]`` on 127.0.0.1, answered from recorded bodies.

    ``fail``: None, an HTTP status (404, 429, 500 ...), "empty", "truncated", "html" or "drop" (close the
    connection mid-body), "drip" (one byte every ``drip_seconds``, at most ``drip_bytes`` bytes, then hang up: a
    vendor that is never quite silent, so no per-read timeout fires); applies to every request until reset -- or
    a {series id: failure} table, for one failing series beside good ones. ``revise``: {date: value} changes served for dated rows (a FRED revision)."""

    def __init__(self) -> None:
        self.bodies: dict[str, str] = {}
        self.published: str = "2100-01-01"
        self.fail: int | str | dict[str, int | str] | None = None
        self.revise: dict[str, dict[str, str]] = {}
        self.requests: list[dict[str, str]] = []
        self.drip_seconds, self.drip_bytes = 3.0, 20  # bounded: a dripping answer ends within a minute
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:  # keep test output clean
                pass

            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                q = dict(urllib.parse.parse_qsl(urllib.parse.urlparse(self.path).query))
                server.requests.append(q)
                status, body = server.answer(q)
                self.send_response(status)
                self.send_header("Content-Type", "text/csv")
                if server.failure(q.get("id", "")) == "drop":
                    self.send_header("Content-Length", str(len(body) + 500))
                else:
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if server.failure(q.get("id", "")) == "drip":
                    for byte in body[: server.drip_bytes]:
                        try:
                            self.wfile.write(bytes([byte]))
                            self.wfile.flush()
                        except OSError:  # the client gave up: what a deadline does
                            return
                        time.sleep(server.drip_seconds)
                    return
                self.wfile.write(body)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.timeout = 5
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/fredgraph.csv"

    def record(self, series_id: str, path: Path | None = None) -> None:
        self.bodies[series_id] = (path or RECORDED / f"fred_{series_id}.csv").read_text()

    def failure(self, sid: str) -> int | str | None:
        return self.fail.get(sid) if isinstance(self.fail, dict) else self.fail

    def answer(self, q: dict[str, str]) -> tuple[int, bytes]:
        sid = q.get("id", "")
        fail = self.failure(sid)
        if isinstance(fail, int):
            return fail, b"<html><body>error</body></html>"
        if sid not in self.bodies:
            return 404, b"<!DOCTYPE html><html><body>Series not found</body></html>"
        if fail == "empty":
            return 200, b""
        if fail == "html":
            return 200, b"<!DOCTYPE html><html><body>maintenance</body></html>\n"
        lines = self.bodies[sid].splitlines()
        start = q.get("cosd", "0000")
        rows = []
        for line in lines[1:]:
            day, value = line.split(",", 1)
            value = self.revise.get(sid, {}).get(day, value)
            if start <= day <= self.published:
                rows.append(f"{day},{value}")
        body = "\n".join([lines[0], *rows]) + "\n"
        if fail == "truncated":
            body = body[: len(body) - 4]
        return 200, body.encode()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


class RecordedYahoo:
    """A ``YahooDownload``: recorded ``Ticker.history`` frames up to ``published``; ``dividend`` rescales
    adjusted closes before an ex-date (what Yahoo does when a new dividend goes ex)."""

    def __init__(self, symbols: tuple[str, ...] = ("SPY", "SHY", "GLD")) -> None:
        self.frames = {s: self._load(s) for s in symbols}
        self.published = "2100-01-01"
        self.fail: Exception | None = None
        self.calls: list[tuple[str, str | None]] = []

    @staticmethod
    def _load(symbol: str) -> pd.DataFrame:
        df = pd.read_csv(RECORDED / f"yahoo_{symbol}.csv")
        df.index = pd.to_datetime(df.pop("Date"), utc=True).dt.tz_convert("America/New_York").rename("Date")
        return df

    def dividend(self, symbol: str, ex_date: str, factor: float) -> None:
        f = self.frames[symbol]
        before = f.index.tz_localize(None).normalize() < pd.Timestamp(ex_date)
        f.loc[before, "Adj Close"] = f.loc[before, "Adj Close"] * factor

    def __call__(self, ticker: str, start: str | None) -> pd.DataFrame:
        self.calls.append((ticker, start))
        if self.fail is not None:
            raise self.fail
        if ticker not in self.frames:
            return pd.DataFrame()  # what yfinance hands back for an unknown symbol (after logging an error)
        f = self.frames[ticker]
        day = f.index.tz_localize(None).normalize()
        keep = day <= pd.Timestamp(self.published)
        if start is not None:
            keep &= day >= pd.Timestamp(start)
        return f[keep].copy()


def csv_text(frame: pd.DataFrame) -> str:
    buf = io.StringIO()
    frame.to_csv(buf)
    return buf.getvalue()
