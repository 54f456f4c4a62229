"""The service's log, as an operator's collector reads it: one JSON object per line on standard error."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path

import httpx

from pos.service import logs
from pos.testing.process import ServiceProcess


def _lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]  # every line is JSON


def test_every_line_the_service_writes_is_a_json_object_with_when_what_and_where(tmp_path: Path) -> None:
    log = tmp_path / "service.log"
    with ServiceProcess(tmp_path / "s.db", log=log, extra=["--log-level", "info", "--access-log"]) as service:
        assert httpx.get(service.url + "/healthz").status_code == 200
        assert httpx.get(service.url + "/v1/catalog", headers={"Authorization": "Bearer nope"}).status_code == 401
    lines = _lines(log)
    assert all({"at", "level", "logger", "message"} <= set(line) for line in lines)
    assert all(str(line["at"]).endswith("Z") for line in lines)
    assert any(line["logger"] == "pos.serve" and service.url in str(line["message"]) for line in lines)  # where
    requests = [line for line in lines if line["logger"] == "uvicorn.access"]  # after the start-up probes
    assert [(r["method"], r["path"], r["status"]) for r in requests][-2:] == [("GET", "/healthz", 200), ("GET", "/v1/catalog", 401)]
    assert "nope" not in log.read_text()  # headers are never logged


def test_a_failure_carries_its_traceback_inside_the_line() -> None:
    formatter = logs.JsonLines()
    try:
        raise RuntimeError("the disk is full")
    except RuntimeError:
        record = logging.LogRecord("pos.pushes", logging.ERROR, __file__, 1, "push delivery failed", None, sys.exc_info())
    line = json.loads(formatter.format(record))
    assert line["level"] == "error" and line["message"] == "push delivery failed"
    assert "RuntimeError: the disk is full" in line["error"] and "\n" not in formatter.format(record)


def test_plain_text_for_a_person_and_a_clear_refusal_of_an_unknown_format(tmp_path: Path) -> None:
    log = tmp_path / "service.log"
    with ServiceProcess(tmp_path / "s.db", log=log, extra=["--log-format", "text"]):
        pass
    first = log.read_text().splitlines()[0]
    assert first.startswith("pos serve: http://127.0.0.1:")
    done = subprocess.run([sys.executable, "-m", "pos", "serve", "--log-format", "xml", "--db", str(tmp_path / "x.db")],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "'xml' is not one of 'json', 'text'" in done.stderr
