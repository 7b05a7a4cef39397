"""The gunicorn worker: aiohttp's, serving through www/connections.py's GuardedRunner.

    gunicorn 'www.app:create_app()' --worker-class www.worker.GunicornWebWorker

aiohttp.GunicornWebWorker serves the app too, but without the header and body read
timeouts and the connection cap (aiohttp's server has no hook for them); keep-alive and
everything else are the same.
"""

from aiohttp import web
from aiohttp.worker import GunicornWebWorker as AiohttpWorker

from . import interpreter
from .connections import GuardedRunner


class GunicornWebWorker(AiohttpWorker):
    def load_wsgi(self) -> None:
        super().load_wsgi()
        app = self.wsgi
        if not isinstance(app, web.Application):
            return  # an async factory: aiohttp's worker takes it as it is
        interpreter.tune_on_startup(app)  # this process serves: www/interpreter.py

        # aiohttp's worker serves with the runner an async function returns; this one is
        # made with the options that worker gives its own runner (aiohttp/worker.py).
        async def guarded_runner() -> web.AppRunner:
            return GuardedRunner(
                app,
                logger=self.log,
                keepalive_timeout=self.cfg.keepalive,  # the app's handler_args win
                access_log=self.log.access_log if self.cfg.accesslog else None,
                access_log_format=self._get_valid_log_format(self.cfg.access_log_format),
                shutdown_timeout=self.cfg.graceful_timeout / 100 * 95,
            )

        self.wsgi = guarded_runner
