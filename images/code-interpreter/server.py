#!/usr/bin/env python3
"""Burrow's code interpreter server: the HTTP API of @e2b/code-interpreter on port 49999, over Jupyter kernels.

POST /execute        {code, context_id?, language?, env_vars?} -> newline-delimited JSON, one line per output:
                     stdout, stderr, result (text, html, png, ...; is_main_result), error (name, value, traceback),
                     number_of_executions (execution_count)
POST /contexts       {language?, cwd?} -> {id, language, cwd}
GET  /contexts       -> [{id, language, cwd}]
POST /contexts/<id>/restart, DELETE /contexts/<id>
GET  /health

Each context is one kernel; one execution runs in a context at a time (others wait their turn). Code without a
context runs in the default context of its language (Python only here). Written for Burrow, standard library plus
Debian's jupyter_client.
"""
import json
import os
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from jupyter_client.manager import KernelManager

PORT = int(os.environ.get("BURROW_CODE_INTERPRETER_PORT", "49999"))
HOME = os.environ.get("HOME", "/home/user")
MAX_BODY = 16 * 1024 * 1024
KERNEL_START_TIMEOUT = 120
LANGUAGES = {"python": "python3", "python3": "python3"}
# Jupyter MIME types and the names @e2b/code-interpreter gives them; others are passed on under their MIME type.
MIME_NAMES = {
    "text/plain": "text",
    "text/html": "html",
    "text/markdown": "markdown",
    "image/svg+xml": "svg",
    "image/png": "png",
    "image/jpeg": "jpeg",
    "application/pdf": "pdf",
    "text/latex": "latex",
    "application/json": "json",
    "application/javascript": "javascript",
}


class ClientGone(Exception):
    """The client closed the connection: the execution is interrupted, its output dropped."""


class Context:
    def __init__(self, language, cwd):
        self.id = str(uuid.uuid4())
        self.language = language
        self.cwd = cwd
        self.lock = threading.Lock()
        self.manager = None
        self.client = None
        self._start()

    def _start(self):
        os.makedirs(self.cwd, exist_ok=True)
        self.manager = KernelManager(kernel_name=LANGUAGES[self.language])
        self.manager.start_kernel(cwd=self.cwd)
        self.client = self.manager.client()
        self.client.start_channels()
        self.client.wait_for_ready(timeout=KERNEL_START_TIMEOUT)

    def describe(self):
        return {"id": self.id, "language": self.language, "cwd": self.cwd}

    def shutdown(self):
        try:
            self.client.stop_channels()
        finally:
            self.manager.shutdown_kernel(now=True)

    def restart(self):
        with self.lock:
            self.shutdown()
            self._start()

    def _run(self, code, silent, emit):
        """Runs code and passes each of its outputs to emit(line); returns once the kernel is idle again."""
        msg_id = self.client.execute(code, silent=silent, store_history=not silent, allow_stdin=False)
        while True:
            msg = self.client.get_iopub_msg()
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind = msg["msg_type"]
            content = msg["content"]
            if kind == "status" and content.get("execution_state") == "idle":
                return
            if silent:
                continue
            if kind == "stream":
                emit({"type": "stderr" if content.get("name") == "stderr" else "stdout", "text": content.get("text", "")})
            elif kind == "execute_input":
                emit({"type": "number_of_executions", "execution_count": content.get("execution_count")})
            elif kind in ("execute_result", "display_data"):
                emit(result(content.get("data", {}), kind == "execute_result"))
            elif kind == "error":
                emit({
                    "type": "error",
                    "name": content.get("ename", ""),
                    "value": content.get("evalue", ""),
                    "traceback": "\n".join(content.get("traceback", [])),
                })

    def execute(self, code, env, emit):
        with self.lock:
            gone = []

            def guarded(line):
                if gone:
                    return
                try:
                    emit(line)
                except (BrokenPipeError, ConnectionResetError):
                    # Stop the code and let the kernel settle; its remaining output goes nowhere.
                    gone.append(True)
                    self.manager.interrupt_kernel()

            if env:
                self._run(
                    "import os as _burrow_os\n"
                    f"_burrow_saved = {{k: _burrow_os.environ.get(k) for k in {list(env)!r}}}\n"
                    f"_burrow_os.environ.update({env!r})\n",
                    True,
                    guarded,
                )
            try:
                self._run(code, False, guarded)
            finally:
                if env:
                    self._run(
                        "for _burrow_k, _burrow_v in _burrow_saved.items():\n"
                        "    if _burrow_v is None: _burrow_os.environ.pop(_burrow_k, None)\n"
                        "    else: _burrow_os.environ[_burrow_k] = _burrow_v\n",
                        True,
                        guarded,
                    )
            if gone:
                raise ClientGone()


def result(data, is_main):
    out = {"type": "result", "is_main_result": is_main}
    for mime, value in data.items():
        out[MIME_NAMES.get(mime, mime)] = value
    return out


class Contexts:
    def __init__(self):
        self.lock = threading.Lock()
        self.starting = threading.Lock()
        self.by_id = {}
        self.defaults = {}

    def create(self, language, cwd):
        context = Context(language, cwd)
        with self.lock:
            self.by_id[context.id] = context
        return context

    def default(self, language):
        # One default kernel per language, even when several requests ask at once (they wait for it).
        with self.starting:
            with self.lock:
                context = self.defaults.get(language)
            if context is None:
                context = self.create(language, HOME)
                with self.lock:
                    self.defaults[language] = context
            return context

    def get(self, context_id):
        with self.lock:
            return self.by_id.get(context_id)

    def remove(self, context_id):
        with self.lock:
            context = self.by_id.pop(context_id, None)
            for language, default in list(self.defaults.items()):
                if default is context:
                    del self.defaults[language]
        if context is not None:
            context.shutdown()
        return context is not None

    def all(self):
        with self.lock:
            return list(self.by_id.values())


CONTEXTS = Contexts()


def language_of(value):
    language = (value or "python").lower()
    if language not in LANGUAGES:
        raise ValueError(f"language {language!r} is not available in this image: use python")
    return language


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"
    server_version = "burrow-code-interpreter"

    def log_message(self, format, *args):
        pass

    def _json(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _error(self, status, message):
        self._json(status, {"error": message, "message": message})

    def _body(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            raise ValueError(f"the request body is larger than {MAX_BODY} bytes")
        raw = self.rfile.read(length) if length > 0 else b""
        body = json.loads(raw or b"{}")
        if not isinstance(body, dict):
            raise ValueError("the request body must be a JSON object")
        return body

    def _path(self):
        return self.path.split("?", 1)[0].rstrip("/") or "/"

    def do_GET(self):
        path = self._path()
        if path == "/health":
            self._json(200, {"status": "ok"})
        elif path == "/contexts":
            self._json(200, [context.describe() for context in CONTEXTS.all()])
        else:
            self._error(404, f"no route GET {path}")

    def do_DELETE(self):
        parts = self._path().split("/")
        if len(parts) == 3 and parts[1] == "contexts":
            if CONTEXTS.remove(parts[2]):
                self.send_response(204)
                self.end_headers()
            else:
                self._error(404, f"context {parts[2]} not found")
        else:
            self._error(404, f"no route DELETE {self._path()}")

    def do_POST(self):
        path = self._path()
        try:
            body = self._body()
        except ValueError as error:
            self._error(400, str(error))
            return
        try:
            if path == "/execute":
                self._execute(body)
            elif path == "/contexts":
                context = CONTEXTS.create(language_of(body.get("language")), body.get("cwd") or HOME)
                self._json(200, context.describe())
            elif path.startswith("/contexts/") and path.endswith("/restart"):
                context = CONTEXTS.get(path.split("/")[2])
                if context is None:
                    self._error(404, f"context {path.split('/')[2]} not found")
                    return
                context.restart()
                self.send_response(204)
                self.end_headers()
            else:
                self._error(404, f"no route POST {path}")
        except ValueError as error:
            self._error(400, str(error))

    def _execute(self, body):
        code = body.get("code")
        if not isinstance(code, str):
            raise ValueError("code: give the code to run as a string")
        env = body.get("env_vars") or {}
        if not isinstance(env, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in env.items()):
            raise ValueError("env_vars: give an object of strings")
        if body.get("context_id"):
            context = CONTEXTS.get(body["context_id"])
            if context is None:
                self._error(404, f"context {body['context_id']} not found")
                return
        else:
            context = CONTEXTS.default(language_of(body.get("language")))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-ndjson")
        self.end_headers()

        def emit(line):
            self.wfile.write((json.dumps(line) + "\n").encode())
            self.wfile.flush()

        try:
            context.execute(code, env, emit)
        except ClientGone:
            pass


def main():
    server = ThreadingHTTPServer(("0.0.0.0", PORT), Handler)
    server.daemon_threads = True
    # The port is open first; the default Python kernel starts beside it, so the first runCode waits for it (not
    # for a connection refused) and later ones do not wait at all.
    threading.Thread(target=CONTEXTS.default, args=("python",), daemon=True).start()
    server.serve_forever()


if __name__ == "__main__":
    main()
