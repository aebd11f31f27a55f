"""The web front end as the `edgepbx run` process starts it (entry point edgepbx.frontends)."""

from __future__ import annotations

import errno
import logging
from typing import Any

from aiohttp import web

from firmware.accounts import Accounts
from firmware.frontends import FrontendError, FrontendSettings

log = logging.getLogger(__name__)


class WebFrontend:
    name = "web"

    def __init__(self) -> None:
        self._runner: web.AppRunner | None = None

    async def start(self, box: Any, settings: FrontendSettings) -> None:
        from webui.app import create_app

        accounts = Accounts.open(settings.data_dir / "accounts.json")
        app = create_app(box, accounts)
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, settings.http_host, settings.http_port)
        url = f"http://{settings.http_host}:{settings.http_port}"
        try:
            await site.start()
        except OSError as exc:
            await runner.cleanup()
            if exc.errno == errno.EADDRINUSE:
                raise FrontendError(f"cannot serve the web UI on {url}: the address is "
                                    "already in use (another edgepbx or program?)") from None
            raise FrontendError(f"cannot serve the web UI on {url}: {exc.strerror}") from None
        self._runner = runner
        log.info("web UI listening", extra={"url": url,
                                            "first_boot": accounts.needs_setup})
        if accounts.needs_setup:
            log.warning("first boot: open the web UI and set the admin password",
                        extra={"url": url + "/setup"})

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None


def frontend() -> WebFrontend:
    return WebFrontend()
