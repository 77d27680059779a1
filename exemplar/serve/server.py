"""``Server``: the web app's parts put together and run by uvicorn, in the foreground or on a thread.

``exemplar serve`` calls :meth:`Server.start` then :meth:`Server.run` (until Ctrl-C); tests and
``benchmarks/serve_load.py`` use :meth:`Server.start` / :meth:`Server.stop` on a free loopback port.
uvicorn runs on a thread either way, so the main thread is free to print the real address.
"""

import threading
import time

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 7860


class Server:
    """One colorizer, one job queue, one temporary workspace, served over HTTP.

    engine_options go to :class:`exemplar.serve.engine.Engine` (method, size, weights,
    follow_reference, reference_dir). port=0 picks a free port (see :attr:`url` after start).
    """

    def __init__(self, host=DEFAULT_HOST, port=DEFAULT_PORT, max_upload_mb=64.0, max_megapixels=100.0,
                 max_waiting=32, **engine_options):
        import uvicorn

        from exemplar.serve.app import build_app
        from exemplar.serve.engine import Engine
        from exemplar.serve.jobs import JobQueue
        from exemplar.serve.workspace import Workspace

        self.workspace = Workspace(max_upload_bytes=int(max_upload_mb * 1e6), max_pixels=int(max_megapixels * 1e6))
        self.engine = Engine(self.workspace, **engine_options)
        self.jobs = JobQueue(self.engine, max_waiting=max_waiting)  # starts loading the models now
        app = build_app(self.workspace, self.engine, self.jobs)
        # One process: the models and the queue live in it. Request bodies are streamed, so
        # uvicorn needs no body limit of its own; keep-alive is short so idle tabs hold nothing.
        config = uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False,
                                timeout_keep_alive=5, limit_concurrency=256)
        self.uvicorn = uvicorn.Server(config)
        self._thread = None

    @property
    def url(self):
        """http://host:port of the listening server (the real port when port=0 was asked for)."""
        socket = self.uvicorn.servers[0].sockets[0]
        host, port = socket.getsockname()[:2]
        return f"http://{'[' + host + ']' if ':' in host else host}:{port}"

    def run(self):
        """Serve until interrupted (Ctrl-C), then delete the workspace; call :meth:`start` first."""
        try:
            while self._thread.is_alive():
                self._thread.join(0.5)
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()

    def start(self, timeout=60.0):
        """Serve on a background thread; return once the port is listening."""
        self._thread = threading.Thread(target=self.uvicorn.run, name="exemplar-http", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self.uvicorn.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the web server did not start (is the port in use?)")
            time.sleep(0.05)
        return self

    def wait_ready(self, timeout=300.0):
        """Block until the models are loaded; -> True if they loaded."""
        self.jobs.ready.wait(timeout)
        return self.jobs.ready.is_set() and self.jobs.load_error is None

    def stop(self):
        self.uvicorn.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=30)
        self.jobs.stop()
        self.workspace.close()
