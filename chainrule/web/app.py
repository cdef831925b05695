"""The page's server: a Starlette application, one WebSocket per tab, files from the package.

Routes
------
``GET /``                      the page (``static/index.html``)
``GET /static/…``              its scripts, style sheet and the vendored KaTeX, from the package
``WS  /ws``                    one tab's session: messages of :mod:`chainrule.web.protocol`
``POST /api/upload/{id}``      a CSV file (≤ 50 MB) for session ``id``; answers its columns or the error
``GET /api/export/{id}/model.safetensors``   the session's model (``chainrule predict``/``explain`` read it)
``GET /api/export/{id}/walkthrough.md``      the open walk-through as Markdown

Each tab's session runs its training in worker threads, one frame (~1/30 s) of steps at a time,
and sends the page a ``state`` after each frame; a closed tab ends its session.  Requests whose
``Host`` is not the address served (DNS rebinding) and sockets opened from another origin are
refused; every response forbids the page to load anything from elsewhere
(Content-Security-Policy ``default-src 'self'``).
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import tempfile
from importlib import resources
from pathlib import Path
from typing import Any

from chainrule.web import protocol
from chainrule.web.session import FRAME_SECONDS, TRAIN_SECONDS, Session, Start, options

try:
    import anyio.to_thread
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import FileResponse, JSONResponse, PlainTextResponse, Response
    from starlette.routing import Mount, Route, WebSocketRoute
    from starlette.staticfiles import StaticFiles
    from starlette.websockets import WebSocket, WebSocketDisconnect
except ImportError as error:  # pragma: no cover - the message is the point
    raise ImportError("the page needs Starlette and uvicorn: pip install 'chainrule[web]'") from error

STATIC = Path(str(resources.files("chainrule.web") / "static"))
"""The page's files inside the package."""
MAX_SESSIONS = 32
"""Tabs served at once; one more gets a message to close a tab."""
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; font-src 'self'; "
    "img-src 'self' data: blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'"
)
"""The page may load and connect to its own server only, and runs no inline or evaluated script."""
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "[::1]"})
"""The ``Host`` names a server on the loopback address answers to."""


def _dumps(message: dict[str, Any]) -> str:
    return json.dumps(message, separators=(",", ":"), allow_nan=False, default=float)


class Server:
    """The sessions of the open tabs, and the Starlette application that serves them.

    Parameters
    ----------
    start : Start
        What a new tab opens with.
    hosts : set of str or None
        The ``Host`` names accepted (``127.0.0.1``, ``localhost``); None accepts any (``--host``).
    """

    def __init__(self, start: Start, hosts: frozenset[str] | None = LOCAL_HOSTS) -> None:
        self.start = start
        self.hosts = hosts
        self.sessions: dict[str, Session] = {}
        self.app = Starlette(
            routes=[
                Route("/", self.index),
                Mount("/static", StaticFiles(directory=STATIC), name="static"),
                WebSocketRoute("/ws", self.socket),
                Route("/api/upload/{session}", self.upload, methods=["POST"]),
                Route("/api/export/{session}/model.safetensors", self.export_model),
                Route("/api/export/{session}/walkthrough.md", self.export_markdown),
            ]
        )
        self.app.add_middleware(_Guard, server=self)

    # ------------------------------------------------------------------ checks
    def allowed_host(self, host: str | None) -> bool:
        """Whether a request's ``Host`` header names this server (not another name resolving here)."""
        if self.hosts is None:
            return True
        if not host:
            return False
        name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
        return name in self.hosts

    def _session(self, request: Request) -> Session | None:
        return self.sessions.get(request.path_params["session"])

    # ------------------------------------------------------------------ HTTP
    async def index(self, request: Request) -> Response:
        """The page."""
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-store"})

    async def upload(self, request: Request) -> Response:
        """A CSV file in the body; read with ``chainrule.data.read_csv`` and kept in the session."""
        session = self._session(request)
        if session is None:
            return JSONResponse({"error": "this page's session has ended; reload the page"}, status_code=404)
        name = Path(request.query_params.get("name", "upload.csv")).name[:200] or "upload.csv"
        limit = protocol.MAX_UPLOAD_BYTES
        declared = request.headers.get("content-length", "")
        too_big = {"error": f"the file is larger than {limit // 2**20} MB, the largest the page takes; "
                   "train on it with chainrule train instead"}  # fmt: skip
        if declared.isdigit() and int(declared) > limit:
            return JSONResponse(too_big, status_code=413)
        suffix = ".csv.gz" if name.endswith(".gz") else ".csv"
        handle, path = tempfile.mkstemp(prefix="chainrule-upload-", suffix=suffix)
        try:
            size = 0
            with os.fdopen(handle, "wb") as file:
                async for chunk in request.stream():
                    size += len(chunk)
                    if size > limit:
                        return JSONResponse(too_big, status_code=413)
                    file.write(chunk)
            try:
                table = await anyio.to_thread.run_sync(_read_csv, path)
            except (ValueError, OSError, UnicodeDecodeError) as error:
                message = str(error).replace(path, name)
                return JSONResponse({"error": f"{name}: {message}"}, status_code=400)
            info = await anyio.to_thread.run_sync(session.set_upload, table, name)
            return JSONResponse(info)
        finally:
            Path(path).unlink(missing_ok=True)

    async def export_model(self, request: Request) -> Response:
        """The session's model as one ``.safetensors`` file, with its preprocessing where it has one."""
        session = self._session(request)
        if session is None:
            return PlainTextResponse("this page's session has ended; reload the page", status_code=404)
        data = await anyio.to_thread.run_sync(_model_bytes, session)
        return Response(
            data,
            media_type="application/octet-stream",
            headers={"Content-Disposition": 'attachment; filename="model.safetensors"'},
        )

    async def export_markdown(self, request: Request) -> Response:
        """The walk-through of the selected parameter (or the whole step) as Markdown."""
        session = self._session(request)
        if session is None:
            return PlainTextResponse("this page's session has ended; reload the page", status_code=404)
        text = await anyio.to_thread.run_sync(session.markdown)
        return PlainTextResponse(
            text, media_type="text/markdown", headers={"Content-Disposition": 'attachment; filename="walkthrough.md"'}
        )

    # ------------------------------------------------------------------ the socket
    async def socket(self, websocket: WebSocket) -> None:
        """One tab: its session lives as long as this socket."""
        origin = websocket.headers.get("origin")
        host = websocket.headers.get("host")
        if origin is not None and origin not in (f"http://{host}", f"https://{host}"):
            await websocket.close(code=1008)  # another site's page may not drive this server
            return
        await websocket.accept()
        if len(self.sessions) >= MAX_SESSIONS:
            await websocket.send_text(
                _dumps({"type": "error", "fatal": True,
                        "message": f"{MAX_SESSIONS} tabs are open on this server; close one and reload"})
            )  # fmt: skip
            await websocket.close()
            return
        session = await anyio.to_thread.run_sync(Session, self.start)
        key = secrets.token_urlsafe(16)
        self.sessions[key] = session
        sender = _Sender(websocket)
        wake = asyncio.Event()
        await sender.send({"type": "hello", "session": key, "options": options(self.start)})
        await sender.send_state(session)
        trainer = asyncio.create_task(self._train(session, sender, wake))
        try:
            while True:
                received = await websocket.receive()
                if received["type"] == "websocket.disconnect":
                    break
                text = received.get("text")
                if text is None:
                    text = received.get("bytes") or b""
                try:
                    message = protocol.parse(text)
                    await anyio.to_thread.run_sync(session.apply, message)
                except protocol.ProtocolError as error:
                    await sender.send({"type": "error", "message": str(error)})
                await sender.send_state(session)
                wake.set()
        except WebSocketDisconnect:
            pass
        finally:
            trainer.cancel()
            session.playing = False
            self.sessions.pop(key, None)

    async def _train(self, session: Session, sender: _Sender, wake: asyncio.Event) -> None:
        """While the session plays: a frame of steps in a worker thread, then its state to the page."""
        try:
            await self._train_frames(session, sender, wake)
        except Exception as error:  # a bug, not bad input: stop this tab's training and say so
            session.playing = False
            await sender.send({"type": "error", "message": f"training stopped: {type(error).__name__}: {error}"})

    async def _train_frames(self, session: Session, sender: _Sender, wake: asyncio.Event) -> None:
        loop = asyncio.get_running_loop()
        credit = 0.0
        while True:
            if not session.playing:
                wake.clear()
                await wake.wait()
                credit = 0.0
                continue
            began = loop.time()
            speed = session.training["speed"]
            steps = None
            if speed:
                credit += speed * FRAME_SECONDS
                steps, credit = int(credit), credit - int(credit)
            if steps != 0:
                await anyio.to_thread.run_sync(session.train_for, TRAIN_SECONDS, steps)
            await sender.send_state(session)
            await asyncio.sleep(max(0.0, began + FRAME_SECONDS - loop.time()))


class _Sender:
    """Sends one message at a time on a socket; states are serialised in a worker thread."""

    def __init__(self, websocket: WebSocket) -> None:
        self.websocket = websocket
        self.lock = asyncio.Lock()
        self.data_version = -1  # the data points go out again only when the data changed

    async def send(self, message: dict[str, Any]) -> None:
        async with self.lock:
            await self.websocket.send_text(_dumps(message))

    async def send_state(self, session: Session) -> None:
        def serialise() -> str:
            state = session.state(points=session.data_version != self.data_version)
            self.data_version = state["data_version"]
            return _dumps(state)

        text = await anyio.to_thread.run_sync(serialise)
        async with self.lock:
            await self.websocket.send_text(text)


class _Guard:
    """ASGI middleware: refuse requests for another host name, and set the security headers."""

    def __init__(self, app: Any, server: Server) -> None:
        self.app, self.server = app, server

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope.get("headers", [])}
        if not self.server.allowed_host(headers.get("host")):
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 1008})
                return
            response = PlainTextResponse("this server answers to 127.0.0.1 and localhost only", status_code=421)
            await response(scope, receive, send)
            return

        async def secured(message: dict) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = [
                    *message["headers"],
                    (b"content-security-policy", CSP.encode()),
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"no-referrer"),
                ]
            await send(message)

        await self.app(scope, receive, secured)


def _read_csv(path: str) -> Any:
    from chainrule.data import read_csv

    return read_csv(path)


def _model_bytes(session: Session) -> bytes:
    """The session's model saved with ``chainrule.io.save`` to a temporary file, read back."""
    from chainrule import io

    with session.lock, tempfile.TemporaryDirectory(prefix="chainrule-export-") as folder:
        path = Path(folder) / "model.safetensors"
        config = {"source": "chainrule serve", **session.network, **session.training}
        io.save(path, session.model, preprocessor=session.data.preprocessor, config=config)
        return path.read_bytes()


DEFAULT_PORT = 8765
"""The port ``chainrule serve`` tries first; a free one is taken when it is busy."""
LOOPBACK = "127.0.0.1"


def bind(host: str = LOOPBACK, port: int | None = None) -> Any:
    """A listening socket on ``host``: on ``port``, or on 8765 if free, else on a free port."""
    import socket

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    candidates = [port] if port is not None else [DEFAULT_PORT, 0]
    for index, candidate in enumerate(candidates):
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, candidate))
        except OSError as error:
            sock.close()
            if index + 1 < len(candidates):
                continue
            raise OSError(f"cannot listen on {host}:{candidate} ({error.strerror}); choose another --port") from None
        sock.listen(64)
        sock.setblocking(False)
        return sock
    raise AssertionError("unreachable")


def make_server(app: Any, sock: Any) -> Any:
    """A uvicorn server for ``app`` on the bound ``sock`` (``server.run(sockets=[sock])`` serves
    until Ctrl-C or ``server.should_exit = True``)."""
    try:
        import uvicorn
    except ImportError as error:  # pragma: no cover
        raise ImportError("the page needs uvicorn: pip install 'chainrule[web]'") from error
    config = uvicorn.Config(
        app,
        log_level="warning",
        ws_max_size=16 * protocol.MAX_MESSAGE_BYTES,  # larger frames close that tab's socket (code 1009)
        ws_ping_interval=20,
        timeout_graceful_shutdown=2,
        lifespan="off",
    )
    return uvicorn.Server(config)
