"""The demo platform behind uvicorn in a background thread: `veri run` starts it beside Veri,
the tests and the benchmark on a free port."""

from __future__ import annotations

import threading
import time

import uvicorn

from veri.demo_platform.app import create_demo_platform
from veri.demo_platform.config import DemoConfig

__all__ = ["DemoPlatformServer"]


class DemoPlatformServer:
    def __init__(self, config: DemoConfig, *, host: str = "127.0.0.1", port: int = 8001):
        self.config = config
        self.host = host
        self.port = port
        self.app = create_demo_platform(config)
        self._server = uvicorn.Server(
            uvicorn.Config(
                self.app, host=host, port=port, log_level="warning", access_log=False, timeout_graceful_shutdown=1
            )
        )
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 20.0) -> DemoPlatformServer:
        self._thread = threading.Thread(target=self._server.run, name="demo-platform", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the demo platform did not start on {self.url}")
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(10)

    def __enter__(self) -> DemoPlatformServer:
        return self if self._thread is not None else self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
