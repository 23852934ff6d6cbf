"""`veri run`: the API and the web pages, with a worker and, on a demo database, the demo world."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Annotated

import typer

from veri.cli._shared import console, open_database_for
from veri.cli.worker import start_worker
from veri.config import Settings, get_settings

if TYPE_CHECKING:
    from veri.demo_platform import DemoPlatformServer

__all__ = ["local_mongo", "run", "uvicorn_proxy_options"]


def uvicorn_proxy_options(trusted_proxies: list[str]) -> dict[str, object]:
    """Believe X-Forwarded-For / -Proto only from the configured proxies. uvicorn's default trusts
    127.0.0.1, so any local client could pick its address and reset its log-in limits."""
    return {"proxy_headers": bool(trusted_proxies), "forwarded_allow_ips": ",".join(trusted_proxies)}


def _port_open(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def local_mongo(settings: Settings) -> Iterator[str]:
    """A MongoDB wire-protocol server for the migration (nx-27017 from PyPI, on SQLite) with its
    data under the data directory, while the block runs; `settings.mongo.mongo_url` (and
    VERI_MONGO_URL, for processes started from here) point at it. With VERI_MONGO_URL already
    set, that MongoDB is used and nothing is started."""
    if settings.mongo.mongo_url:
        yield settings.mongo.mongo_url
        return
    binary = Path(sys.executable).parent / "nx-27017"
    found = str(binary) if binary.exists() else shutil.which("nx-27017")
    if found is None:
        console.print("[red]nx-27017 is not installed (it is in requirements.lock): run `make install`[/red]")
        raise typer.Exit(2)
    folder = (settings.db.data_dir / "mongo").resolve()
    folder.mkdir(parents=True, exist_ok=True)
    port = 27017 if not _port_open(27017) else _free_port()
    server = subprocess.Popen(  # noqa: S603 (our own venv's nx-27017, arguments we built)  # nosec B603
        [
            found,
            "--data-dir",
            str(folder),
            "--host",
            "127.0.0.1",
            "-p",
            str(port),
            "--log-file",
            str(folder / "nx-27017.log"),
            "--pid-file",
            str(folder / "nx-27017.pid"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 15
        while not _port_open(port):
            if server.poll() is not None or time.monotonic() > deadline:
                console.print(f"[red]nx-27017 did not start: see {folder / 'nx-27017.log'}[/red]")
                raise typer.Exit(1)
            time.sleep(0.1)
        url = f"mongodb://127.0.0.1:{port}"
        settings.mongo.mongo_url = os.environ["VERI_MONGO_URL"] = url
        console.print(f"MongoDB (nx-27017) at {url}, data in {folder}: the migration page is /admin/migration")
        yield url
    finally:
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def _exit_on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


def _start_demo_platform(settings: Settings) -> DemoPlatformServer | None:
    """The demo platform on its own port, when the environment is not production and some
    configured platform points at it; its URL printed (a port in use: a warning, Veri runs on)."""
    connectors = settings.connectors
    if settings.env == "production" or not any(connectors.platform_url(p) is None for p in connectors.configured()):
        return None
    from veri.cli.connectors import demo_platform_config
    from veri.demo_platform import DemoPlatformServer

    try:
        server = DemoPlatformServer(
            # A new post on some connected account every five minutes, with its webhook.
            demo_platform_config(settings, publish_every_seconds=300.0),
            host=connectors.demo_platform_host,
            port=connectors.demo_platform_port,
        ).start()
    except RuntimeError as exc:
        console.print(f"[yellow]The demo platform did not start ({exc}); connecting a platform will fail.[/yellow]")
        return None
    console.print(
        f"Demo social platform (YouTube, Instagram, TikTok, Twitch) at {server.url}: "
        "connect one from a creator's profile page."
    )
    return server


def run(
    host: Annotated[str | None, typer.Option(help="Address to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on.")] = None,
    demo: Annotated[bool, typer.Option(help="Load the demo data on first start.")] = True,
    mongo: Annotated[
        bool,
        typer.Option(
            help="Start a MongoDB wire-protocol server (nx-27017, data under the data dir) for the migration, "
            "unless VERI_MONGO_URL is set."
        ),
    ] = False,
    demo_platform: Annotated[
        bool,
        typer.Option(
            help="Start the local demo social platform (YouTube, Instagram, TikTok, Twitch over OAuth) beside Veri, "
            "outside production, for the platforms whose URL is not set."
        ),
    ] = True,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            max=64,
            help="API processes on the one port (uvicorn's supervisor restarts one that dies); they share "
            "nothing but the database and Redis. The worker and the demo stay in this process.",
        ),
    ] = 1,
    worker: Annotated[
        bool, typer.Option(help="Run the stream processor in this process (--no-worker: run `veri worker` apart).")
    ] = True,
) -> None:
    """Serve the API and the web pages (migrating the database first)."""
    import uvicorn

    from veri.app import create_app
    from veri.demo import ADMIN_EMAIL, DEMO_PASSWORD, MARKER_EMAIL, DemoSummary, load_demo
    from veri.identity import service as identity_service

    settings = get_settings()
    if host:
        settings.host = host
    if port:
        settings.port = port
    with (
        local_mongo(settings) if mongo else nullcontext(),
        open_database_for(settings, upgrade=True) as database,
    ):
        is_demo_database = False
        if demo:
            with console.status("Loading the demo world...") as status, database.transaction() as db:
                # Only into an empty database: a real one is never mixed with demo data.
                if identity_service.has_users(db):
                    summary = DemoSummary(created=False, users=0, campaigns=0, deals=0, content=0)
                else:
                    summary = load_demo(db, progress=lambda step: status.update(f"Loading demo {step}..."))
                is_demo_database = identity_service.user_by_email(db, email=MARKER_EMAIL) is not None
            if summary.created:
                console.print(
                    f"Demo data loaded: {summary.users} users, {summary.campaigns} campaigns, {summary.deals} deals."
                )
        console.print(f"\n[bold green]Veri is running at {settings.base_url}[/bold green]")
        if is_demo_database:
            console.print(
                "Log in as maya@creators.example (creator), team@peakform.example (brand) "
                f"or {ADMIN_EMAIL} (admin), "
                f"password [bold]{DEMO_PASSWORD}[/bold]\n"
            )
        platform = _start_demo_platform(settings) if demo_platform else None
        stream = start_worker(settings, database) if worker else None
        marker = settings.db.data_dir / "demo-world.json"
        if is_demo_database and not marker.exists():
            import threading

            from veri.demo import load_world

            console.print("Loading the simulated world (500 creators, 180 days) in the background; see /admin.")
            threading.Thread(
                target=load_world,
                kwargs={"database": database, "marker": marker, "partitions": settings.events.event_partitions},
                name="veri-demo-world",
                daemon=True,
            ).start()
        # uvicorn shuts down on SIGTERM, then raises the signal again; with the default handler
        # that ends the process before the `finally` blocks stop the worker and the embedded
        # PostgreSQL. An exception does not skip them.
        signal.signal(signal.SIGTERM, _exit_on_sigterm)
        options: dict[str, object] = {
            "host": settings.host,
            "port": settings.port,
            "log_level": "warning",
            # Open pages hold their live-update streams (SSE) open: on shutdown they are
            # cut after this instead of being waited for (the browsers reconnect elsewhere).
            "timeout_graceful_shutdown": 3,
            **uvicorn_proxy_options(settings.security.trusted_proxies),
        }
        try:
            if workers > 1:
                # Each process builds its own app from the environment: they reach this embedded
                # server by its URL (only this process starts and stops it) and share no state in
                # memory (sessions, rate limits, caches and live updates are in PostgreSQL or Redis).
                os.environ["VERI_DATABASE_URL"] = database.url
                uvicorn.run("veri.app:create_app", factory=True, workers=workers, **options)  # type: ignore[arg-type]
            else:
                uvicorn.run(create_app(settings, database=database), **options)  # type: ignore[arg-type]
        finally:
            if stream is not None:
                stream.stop()
            if platform is not None:
                platform.stop()
