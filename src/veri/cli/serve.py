"""`veri run`: the API and the web pages, with a worker and, on a demo database, the demo world."""

from __future__ import annotations

import signal
from types import FrameType
from typing import Annotated

import typer

from veri.cli._shared import console, open_database_for
from veri.cli.worker import start_worker
from veri.config import get_settings

__all__ = ["run", "uvicorn_proxy_options"]


def uvicorn_proxy_options(trusted_proxies: list[str]) -> dict[str, object]:
    """Believe X-Forwarded-For / -Proto only from the configured proxies. uvicorn's default trusts
    127.0.0.1, so any local client could pick its address and reset its log-in limits."""
    return {"proxy_headers": bool(trusted_proxies), "forwarded_allow_ips": ",".join(trusted_proxies)}


def _exit_on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


def run(
    host: Annotated[str | None, typer.Option(help="Address to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on.")] = None,
    demo: Annotated[bool, typer.Option(help="Load the demo data on first start.")] = True,
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
    with open_database_for(settings, upgrade=True) as database:
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
        worker = start_worker(settings, database)
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
        try:
            uvicorn.run(
                create_app(settings, database=database),
                host=settings.host,
                port=settings.port,
                log_level="warning",
                # Open pages hold their live-update streams (SSE) open: on shutdown they are
                # cut after this instead of being waited for (the browsers reconnect elsewhere).
                timeout_graceful_shutdown=3,
                **uvicorn_proxy_options(settings.security.trusted_proxies),  # type: ignore[arg-type]
            )
        finally:
            worker.stop()
