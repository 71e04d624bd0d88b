"""Errors: JSON under /api/, a friendly page elsewhere; never a stack trace."""
from __future__ import annotations

from flask import Flask, jsonify, render_template, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed, RequestEntityTooLarge

from search.errors import IndexNotBuilt, PlanSearchError, UnknownDocument

from .params import TextTooLong

# The status of each kind of library (or input) error; the first class that matches wins.
ERROR_STATUS = ((TextTooLong, 413), (UnknownDocument, 404), (IndexNotBuilt, 503), (PlanSearchError, 400))
# The page title for each status, and what the user can do about it.
PAGE_TEXT = {
    400: ("请求有误", "请检查检索词或参数后重试。"),
    404: ("没有找到", "链接可能有误，或该文件已不在索引中。"),
    405: ("不支持的请求方式", "请通过页面上的链接或按钮访问。"),
    413: ("内容太长", "请缩短后重试。"),
    503: ("索引尚未建立", "请管理员运行 plansearch build 建立索引，然后刷新本页。"),
    500: ("服务器出错", "错误已记录，请稍后重试。"),
}


def error_response(status: int, message: str):
    """{"error": {"status", "message"}} for the API, the error page for people."""
    if request.path == "/api" or request.path.startswith("/api/"):
        return jsonify({"error": {"status": status, "message": message}}), status
    title, advice = PAGE_TEXT.get(status, (f"错误 {status}", ""))
    return render_template("error.html", status=status, title=title, advice=advice, message=message,
                           q=request.args.get("q", "")), status


def status_of(exc: PlanSearchError) -> int:
    """The HTTP status for a library or input error."""
    return next(status for cls, status in ERROR_STATUS if isinstance(exc, cls))


def register(app: Flask) -> None:
    """Install the error handlers on app."""

    @app.errorhandler(PlanSearchError)
    def library_error(exc: PlanSearchError):
        return error_response(status_of(exc), str(exc))

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        message = exc.description or exc.name
        if isinstance(exc, RequestEntityTooLarge):  # werkzeug's message does not say what the limit is
            message = f"the request body is larger than the limit of {app.config['MAX_CONTENT_LENGTH']:,} bytes"
        body, status = error_response(exc.code or 500, message)
        headers = {}
        if isinstance(exc, MethodNotAllowed) and exc.valid_methods:
            headers["Allow"] = ", ".join(exc.valid_methods)
        return body, status, headers

    @app.errorhandler(Exception)
    def unexpected_error(exc: Exception):
        # The last resort: the details go to the log, never to the client.
        app.logger.exception("unhandled error in %s %s", request.method, request.path)
        return error_response(500, "an unexpected error occurred; it has been logged")
