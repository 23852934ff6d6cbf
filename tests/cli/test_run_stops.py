"""Stopping `veri run` (Ctrl-C, or SIGTERM as a service manager does) stops the embedded
PostgreSQL it started, unless another Veri process still uses it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from tests.factories import free_port, port_open


def _postmasters(pgdata: Path) -> list[psutil.Process]:
    found = []
    for process in psutil.process_iter(["cmdline"]):
        cmdline = process.info["cmdline"] or []
        if any(str(pgdata) in part for part in cmdline) and any(part.endswith("postgres") for part in cmdline):
            found.append(process)
    return found


def _serve(data_dir: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    env = {**os.environ, "VERI_DATA_DIR": str(data_dir), "VERI_PORT": str(port), "VERI_EMBEDDER": "none"}
    env.pop("VERI_DATABASE_URL", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "veri.cli", "run", "--no-demo"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 90
    while not port_open("127.0.0.1", port):
        assert process.poll() is None, process.stderr.read().decode()[-2000:] if process.stderr else ""
        assert time.monotonic() < deadline, "veri run did not start"
        time.sleep(0.2)
    return process, port


def _interrupt(process: subprocess.Popen[bytes], how: signal.Signals = signal.SIGINT) -> None:
    process.send_signal(how)
    process.wait(60)


def _gone(pgdata: Path, timeout: float = 20) -> bool:
    deadline = time.monotonic() + timeout
    while _postmasters(pgdata):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


@pytest.mark.parametrize("how", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_stopping_veri_run_stops_the_embedded_postgres(tmp_path: Path, how: signal.Signals) -> None:
    process, _ = _serve(tmp_path)
    pgdata = (tmp_path / "pgdata").resolve()
    assert _postmasters(pgdata)
    _interrupt(process, how)
    assert _gone(pgdata), "the embedded PostgreSQL outlived veri run"


def test_it_stays_up_while_another_veri_process_uses_it(tmp_path: Path) -> None:
    first, _ = _serve(tmp_path)
    second, port = _serve(tmp_path)  # a second `veri run` on the same data: shares the server
    pgdata = (tmp_path / "pgdata").resolve()
    _interrupt(first)
    assert _postmasters(pgdata), "stopped although another Veri process still used it"
    assert port_open("127.0.0.1", port)
    _interrupt(second)
    assert _gone(pgdata)
