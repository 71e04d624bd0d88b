"""The PlanSearch web app: HTML pages for people and a JSON API, both thin layers over
search.engine.Engine.

    from web import create_app
    app = create_app({"ENGINE": engine})   # or no ENGINE: opened lazily from Settings()
"""
from __future__ import annotations

from flask import Flask

from search.citations import chinese_date

from . import errors
from .api import api
from .context import EngineHolder
from .pages import pages
from .params import check_query_string

# Every response: scripts and styles only from this origin (no inline code), no framing.
SECURITY_HEADERS = {
    "Content-Security-Policy": ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                                "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}
# Request bodies (verify texts, exported quote baskets) are small; anything bigger is refused with 413.
MAX_BODY_BYTES = 2 * 1024 * 1024


def create_app(config: dict | None = None) -> Flask:
    """The Flask app. Config keys: ENGINE (an opened Engine; without it one is opened from
    search.config.Settings() on the first request that needs it), TESTING."""
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    app.config.update(config or {})
    app.json.ensure_ascii = False  # readable Chinese in the JSON API
    app.json.sort_keys = False  # keep the documented field order
    app.extensions["plansearch"] = EngineHolder(app.config.get("ENGINE"))
    app.jinja_env.filters["chinese_date"] = chinese_date

    app.before_request(check_query_string)
    app.register_blueprint(pages)
    app.register_blueprint(api)
    errors.register(app)

    @app.after_request
    def security_headers(response):
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    return app
