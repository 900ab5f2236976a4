"""`scratchnet serve [PATH ...]`: the studio, a local web app over models, runs and sweeps.

Binds to 127.0.0.1 unless --host says otherwise (then it warns: anyone who can reach that
address can use it). Ctrl-C (SIGINT) or SIGTERM stops it within a few seconds. Starlette and
uvicorn are imported only when the command runs (pip install "scratchnet[serve]").
"""

from __future__ import annotations

import argparse
import ipaddress
import socket
import sys

from ..errors import ScratchnetError

SERVE_EXTRA = 'the studio needs Starlette and uvicorn: pip install "scratchnet[serve]"'
SHUTDOWN_SECONDS = 2  # open live streams are closed after this long on Ctrl-C


def _port(text: str) -> int:
    if not text.isdigit() or not 0 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError(
            f"expected a port number 0-65535 (0: any free port); received {text!r}"
        )
    return int(text)


def add_serve_arguments(serve: argparse.ArgumentParser) -> None:
    serve.description = (
        "Start the studio, a local web page over the model files and run or sweep folders "
        "under PATH: draw a digit and see every layer respond, compare runs, watch a run train "
        "live, look at a model's mistakes. Ctrl-C stops it."
    )
    serve.add_argument(
        "paths",
        nargs="*",
        default=["."],
        metavar="PATH",
        help="model files (.npz), run or sweep folders, or folders holding them [default: .]",
    )
    serve.add_argument(
        "--host",
        default="127.0.0.1",
        help="the address to listen on; anything but loopback lets other machines in "
        "[default: 127.0.0.1]",
    )
    serve.add_argument("--port", type=_port, default=8000, help="[default: 8000]")
    from .args import existing_dir

    serve.add_argument(
        "--data-dir",
        type=existing_dir,
        default=None,
        metavar="DIR",
        help="where the test sets are, for the Mistakes view [the run's, $SCRATCHNET_DATA...]",
    )


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _host_names(host: str) -> list[str]:
    """The Host header values a loopback server accepts: the loopback names and its own."""
    from ..serve.app import LOOPBACK_HOSTS

    bare = host.strip("[]").lower()
    return sorted({*LOOPBACK_HOSTS, bare, f"[{bare}]"})


def _bind(host: str, port: int) -> socket.socket:
    """The listening socket, bound here so a busy port is a one-line error, not a traceback."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise ScratchnetError(
            f"--host {host}: not an address of this machine ({exc.strerror})"
        ) from None
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError as exc:
        sock.close()
        raise ScratchnetError(
            f"cannot listen on {host}:{port} ({exc.strerror}); choose another --port"
        ) from None
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def cmd_serve(args: argparse.Namespace) -> int:
    try:
        import uvicorn

        from ..serve.app import create_app
    except ImportError as exc:
        raise ScratchnetError(f"{SERVE_EXTRA} ({exc.name} is missing)") from None
    loopback = _loopback(args.host)
    server = None
    app = create_app(
        args.paths,
        hosts=_host_names(args.host) if loopback else ["*"],
        data_dir=str(args.data_dir) if args.data_dir else None,
        stopping=lambda: server is not None and server.should_exit,
    )
    sock = _bind(args.host, args.port)
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    if not loopback:
        print(
            f"scratchnet serve: warning: listening on {args.host}: other machines can reach the "
            "studio and read every model and run under the served paths",
            file=sys.stderr,
        )
    try:
        print(
            f"scratchnet studio: serving {', '.join(map(str, args.paths))} at "
            f"http://{shown}:{port}/ (Ctrl-C stops it)",
            flush=True,
        )
        config = uvicorn.Config(
            app,
            log_level="warning",
            access_log=False,
            timeout_graceful_shutdown=SHUTDOWN_SECONDS,
            lifespan="off",
        )
        server = uvicorn.Server(config)
        server.run(sockets=[sock])
    except KeyboardInterrupt:
        # Ctrl-C before uvicorn took over the signal, or re-raised by it after a clean shutdown.
        pass
    finally:
        sock.close()
    print("scratchnet studio: stopped", flush=True)
    return 0
