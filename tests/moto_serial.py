"""moto's server, answering one request at a time.

DynamoDB applies the writes to one item one after the other, so a conditional `UpdateItem`
or `PutItem` is atomic: that is what the adapters' concurrency tests (exactly N of N+k
rate-limit hits, one winner of a refresh rotation) rely on. moto's own `moto_server`
handles requests on threads with no lock around its backends, so on a loaded machine two
conditional updates can both pass their check. This runs the same moto application behind
one lock (connections are still accepted concurrently), which gives the emulator the
per-item serialisation the real service has, and nothing more: an adapter that read and
then wrote in two requests would still lose the race here and fail those tests.

    python tests/moto_serial.py <host> <port>     (what tests/with_moto.sh starts)
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from typing import Any, Callable, Iterable

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import run_simple


def serialised(app: Callable[..., Iterable[bytes]]) -> Callable[..., list[bytes]]:
    lock = threading.Lock()

    def handle(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        with lock:
            # The whole body is produced under the lock, not streamed after it.
            result = app(environ, start_response)
            try:
                return list(result)
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()

    return handle


def main() -> None:
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    host, port = sys.argv[1], int(sys.argv[2])
    os.environ.setdefault("MOTO_PORT", str(port))  # as moto_server sets it
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    app = DomainDispatcherApplication(create_backend_app)
    run_simple(host, port, serialised(app), threaded=True, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
