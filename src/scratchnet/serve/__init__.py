"""scratchnet studio: `scratchnet serve`, a local web app over model files and run folders.

Draw a digit and watch every layer respond, compare runs, watch a run train live, look through a
model's mistakes. The HTTP face (app.py: Starlette, served by uvicorn; pip install
"scratchnet[serve]") sits beside cli/ over the same library calls; catalog.py finds what lies
under the served paths, state.py answers the routes, static/ holds the page (plain HTML, CSS and
JavaScript, no build step). The API is described in docs/studio.md.
"""

from __future__ import annotations

__all__ = ["create_app"]


def __getattr__(name: str):
    if name == "create_app":  # Starlette is imported only when the app is wanted
        from .app import create_app

        return create_app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
