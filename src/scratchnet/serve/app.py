"""The studio's HTTP face: a Starlette app over serve.state.Studio.

Safe by default: the page and its scripts come from the package only (a fixed list of files),
every file under the served PATHs is reached through the catalog by name, request bodies are
capped, pictures must say they are PNG or JPEG, and the Host header must be the one the server
was started for (so another web site cannot reach it through DNS rebinding).
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Callable
from importlib import resources
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from ..errors import ImageError, ScratchnetError
from .catalog import NotFound
from .state import Studio

MAX_BODY = 10 * 1024 * 1024  # a picture of one digit; anything larger gets 413
PICTURE_TYPES = ("image/png", "image/jpeg")
LOOPBACK_HOSTS = ["127.0.0.1", "localhost", "::1", "[::1]"]
STATIC_TYPES = {".html": "text/html", ".js": "text/javascript", ".css": "text/css"}
PAGE_POLICY = (
    "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)
# Reports are files from the served folders: shown sandboxed, with no script and no requests.
REPORT_POLICY = "sandbox; default-src 'none'; img-src data:; style-src 'unsafe-inline'"


class HTTPProblem(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _static_files() -> dict[str, tuple[bytes, str]]:
    """The page's files, read once from the package: {name: (bytes, media type)}."""
    files = {}
    for item in resources.files("scratchnet.serve").joinpath("static").iterdir():
        suffix = os.path.splitext(item.name)[1]
        if suffix in STATIC_TYPES:
            files[item.name] = (item.read_bytes(), STATIC_TYPES[suffix])
    return files


def _headers(policy: str = PAGE_POLICY) -> dict[str, str]:
    return {
        "Content-Security-Policy": policy,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-store",
    }


def _json(data: Any, status: int = 200) -> JSONResponse:
    return JSONResponse(data, status_code=status, headers=_headers())


def _error(status: int, message: str) -> JSONResponse:
    return _json({"error": message.replace("\n", " ")}, status)


def _too_large(limit: int) -> str:
    return f"the body is over {limit // 1024 // 1024} MB; send a smaller picture"


async def _body(request: Request, limit: int) -> bytes:
    """The request body, refused with 413 past `limit` bytes (before reading, when declared)."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise HTTPProblem(400, "Content-Length is not a number")
        if int(declared) > limit:
            raise HTTPProblem(413, _too_large(limit))
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise HTTPProblem(413, _too_large(limit))
        chunks.append(chunk)
    return b"".join(chunks)


def _picture_type(request: Request) -> None:
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind not in PICTURE_TYPES:
        raise HTTPProblem(
            415,
            "send the picture as the body with Content-Type image/png or image/jpeg; "
            f"received {kind or 'none'!r}",
        )


def _int_param(request: Request, name: str, low: int, high: int, default: int | None) -> int | None:
    text = request.query_params.get(name)
    if text is None or text == "":
        return default
    if not text.lstrip("-").isdigit() or not low <= int(text) <= high:
        raise HTTPProblem(400, f"{name} must be an integer from {low} to {high}; received {text!r}")
    return int(text)


def _invert(request: Request) -> Any:
    text = request.query_params.get("invert", "auto")
    choices = {"auto": "auto", "yes": True, "no": False}
    if text not in choices:
        raise HTTPProblem(400, f"invert must be auto, yes or no; received {text!r}")
    return choices[text]


def create_app(
    paths: list[str | os.PathLike],
    *,
    hosts: list[str] | None = None,
    data_dir: str | None = None,
    max_body: int = MAX_BODY,
    poll_seconds: float = 0.5,
    stopping: Callable[[], bool] = lambda: False,
) -> Starlette:
    """The studio over the models and runs under `paths` (files or folders).

    hosts: the Host header values accepted (default: loopback names only; ["*"] for any).
    poll_seconds: how often the live stream looks at the run folders.
    stopping: true once the server is shutting down (live streams then end, so that Ctrl-C
    does not wait for them).
    """
    studio = Studio(paths, data_dir=data_dir)
    static = _static_files()

    def handled(function):
        async def endpoint(request: Request) -> Response:
            try:
                return await function(request)
            except HTTPProblem as exc:
                return _error(exc.status, str(exc))
            except NotFound as exc:
                return _error(404, str(exc))
            except ImageError as exc:
                return _error(400, str(exc))
            except ScratchnetError as exc:
                return _error(422, str(exc))

        return endpoint

    async def page(request: Request) -> Response:
        body, media = static["index.html"]
        return Response(body, media_type=media, headers=_headers())

    async def static_file(request: Request) -> Response:
        found = static.get(request.path_params["name"])
        if found is None:
            return _error(404, "no such file")
        body, media = found
        return Response(body, media_type=media, headers=_headers())

    async def predict(request: Request) -> Response:
        _picture_type(request)
        data = await _body(request, max_body)
        top = _int_param(request, "top", 1, 1000, 3)
        record = await run_in_threadpool(
            studio.predict,
            data,
            model=request.query_params.get("model"),
            top=top,
            invert=_invert(request),
        )
        return _json(record)

    async def inspect(request: Request) -> Response:
        model = request.query_params.get("model")
        if request.method == "GET":
            index = _int_param(request, "test_index", 0, 10**9, None)
            if index is None:
                raise HTTPProblem(400, "GET /api/inspect needs ?test_index=N (or POST a picture)")
            return _json(await run_in_threadpool(studio.inspect_test_image, index, model=model))
        _picture_type(request)
        data = await _body(request, max_body)
        invert = _invert(request)
        return _json(await run_in_threadpool(studio.inspect, data, model=model, invert=invert))

    async def models(request: Request) -> Response:
        return _json({"models": await run_in_threadpool(studio.list_models)})

    async def mistakes(request: Request) -> Response:
        true = _int_param(request, "true", 0, 999, None)
        predicted = _int_param(request, "predicted", 0, 999, None)
        result = await run_in_threadpool(
            studio.wrong, request.path_params["name"], true=true, predicted=predicted
        )
        return _json(result)

    async def runs(request: Request) -> Response:
        return _json({"runs": await run_in_threadpool(studio.list_runs)})

    async def history(request: Request) -> Response:
        return _json(await run_in_threadpool(studio.run_history, request.path_params["name"]))

    async def sweeps(request: Request) -> Response:
        return _json({"sweeps": await run_in_threadpool(studio.list_sweeps)})

    async def trials(request: Request) -> Response:
        return _json(await run_in_threadpool(studio.sweep_trials, request.path_params["name"]))

    async def report(request: Request) -> Response:
        path = await run_in_threadpool(studio.report_file, request.path_params["name"])
        return FileResponse(path, media_type="text/html", headers=_headers(REPORT_POLICY))

    async def live(request: Request) -> Response:
        return StreamingResponse(
            _live_events(studio, request, poll_seconds, stopping),
            media_type="text/event-stream",
            headers={**_headers(), "X-Accel-Buffering": "no"},
        )

    routes = [
        Route("/", page),
        Route("/static/{name}", handled(static_file)),
        Route("/api/predict", handled(predict), methods=["POST"]),
        Route("/api/inspect", handled(inspect), methods=["GET", "POST"]),
        Route("/api/models", handled(models)),
        Route("/api/models/{name:path}/mistakes", handled(mistakes)),
        Route("/api/runs", handled(runs)),
        Route("/api/runs/{name:path}/history", handled(history)),
        Route("/api/sweeps", handled(sweeps)),
        Route("/api/sweeps/{name:path}/trials", handled(trials)),
        Route("/api/live", handled(live)),
        Route("/reports/{name:path}", handled(report)),
    ]
    middleware = [Middleware(TrustedHostMiddleware, allowed_hosts=hosts or LOOPBACK_HOSTS)]
    app = Starlette(routes=routes, middleware=middleware)
    app.state.studio = studio
    return app


def _event(kind: str, data: Any) -> str:
    return f"event: {kind}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


async def _live_events(
    studio: Studio, request: Request, poll_seconds: float, stopping: Callable[[], bool]
):
    """Server-sent events: `runs` (the list, whenever it changes) and `run` (one run's history
    and progress, whenever its files change); a comment every 15 s keeps proxies from closing."""
    sent_runs: str | None = None
    signatures: dict[str, tuple] = {}
    quiet = 0.0
    yield "retry: 2000\n\n"
    while True:
        summaries, current = await run_in_threadpool(studio.live_state)
        text = json.dumps(summaries, sort_keys=True)
        if text != sent_runs:
            sent_runs = text
            yield _event("runs", {"runs": summaries})
            quiet = 0.0
        for name, signature in current.items():
            if signatures.get(name) != signature:
                signatures[name] = signature
                if signature != tuple([None] * len(signature)):
                    try:
                        data = await run_in_threadpool(studio.run_history, name)
                    except NotFound:
                        continue
                    yield _event("run", data)
                    quiet = 0.0
        if quiet >= 15.0:
            yield ": still here\n\n"
            quiet = 0.0
        for _ in range(max(1, round(poll_seconds / 0.1))):
            await asyncio.sleep(min(0.1, poll_seconds))
            if stopping():
                return
        quiet += poll_seconds
        if await request.is_disconnected():
            return
