"""Real servers on ephemeral loopback ports, always stopped by the test that starts them."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import psutil
import uvicorn


def free_port() -> int:
    """A port the kernel just handed out on 127.0.0.1 (closed again before it is returned).

    For a child process only: it is free again until the child binds it. A server of the
    test's own takes `bound_socket()`, which holds its port from the start.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


PORT_ATTEMPTS = 3


class PortTakenError(RuntimeError):
    """Another process took the port a child server was given before the child bound it."""

    def __init__(self, port: int) -> None:
        super().__init__(f"port {port} was taken by another process before the gateway bound it")


def listening_pids(port: int) -> set[int]:
    """The processes that hold a socket listening on TCP `port` (any address)."""
    return {
        conn.pid
        for conn in psutil.net_connections(kind="tcp")
        if conn.status == psutil.CONN_LISTEN
        and conn.laddr
        and conn.laddr.port == port
        and conn.pid is not None
    }


def listens(pid: int, port: int) -> bool:
    """True when process `pid` holds a socket listening on TCP `port`."""
    try:
        sockets = psutil.Process(pid).net_connections(kind="tcp")
    except psutil.NoSuchProcess:
        return False
    return any(s.status == psutil.CONN_LISTEN and s.laddr.port == port for s in sockets)


def bound_socket(port: int = 0) -> socket.socket:
    """A socket bound on 127.0.0.1 (an ephemeral port unless `port`), for `ServerThread`:
    its port is the test's from now on, so no other test (or xdist worker) can take it
    between the moment a URL names it and the moment the server listens."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", port))
    except BaseException:
        sock.close()
        raise
    return sock


def wait_until(
    condition: Callable[[], Any], *, timeout: float = 10.0, interval: float = 0.05, what: str = ""
) -> Any:
    """Poll `condition` until it returns something truthy or the deadline passes."""
    deadline = time.monotonic() + timeout
    last_error: BaseException | None = None
    while time.monotonic() < deadline:
        try:
            value = condition()
        except Exception as exc:  # the condition may raise while a server is still starting
            last_error = exc
        else:
            if value:
                return value
        time.sleep(interval)
    raise TimeoutError(
        f"timed out after {timeout}s waiting for {what or condition}: {last_error!r}"
    )


class _Server(uvicorn.Server):
    """uvicorn's server whose main loop `wake()` ends at once: uvicorn's own looks at
    `should_exit` every 0.1 s, which every test that starts a server paid on its way out."""

    _loop: asyncio.AbstractEventLoop | None = None
    _woken: asyncio.Event | None = None

    async def main_loop(self) -> None:
        self._woken = asyncio.Event()
        self._loop = asyncio.get_running_loop()
        counter = 0
        should_exit = await self.on_tick(counter)
        while not should_exit:
            counter = (counter + 1) % 864000
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._woken.wait(), timeout=0.1)
            should_exit = await self.on_tick(counter)

    def wake(self) -> None:
        """From any thread: have the main loop look at `should_exit` now."""
        loop, woken = self._loop, self._woken
        if loop is not None and woken is not None:
            with contextlib.suppress(RuntimeError):  # the loop has already closed
                loop.call_soon_threadsafe(woken.set)


class ServerThread:
    """An ASGI app served by uvicorn in a background thread on an ephemeral port (or on the
    one `sock` is bound to)."""

    def __init__(
        self,
        app: Any,
        *,
        lifespan: str = "on",
        ws: str = "websockets-sansio",
        sock: socket.socket | None = None,
    ) -> None:
        self.sock = sock or bound_socket()
        self.port = int(self.sock.getsockname()[1])
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=self.port,
            lifespan=lifespan,
            log_level="warning",
            ws=ws,
        )
        self.server = _Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ServerThread:
        self.thread.start()
        try:
            wait_until(
                lambda: self.server.started,
                timeout=15,
                interval=0.01,  # an attribute read: looking often costs nothing
                what=f"server on {self.port}",
            )
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.server.wake()
        self.thread.join(timeout=10)
        if self.thread.is_alive():
            self.server.force_exit = True
            self.thread.join(timeout=5)
        self.sock.close()  # uvicorn closes it on shutdown; not if it never started


@contextlib.contextmanager
def serve_app(app: Any, **kwargs: Any) -> Iterator[ServerThread]:
    """Serve `app` for the duration of the block; stopped even when the test fails."""
    server = ServerThread(app, **kwargs).start()
    try:
        yield server
    finally:
        server.stop()


class GatewayProcess:
    """`oneinbox-gateway serve` (or another sub-command) as a real child process."""

    def __init__(
        self,
        env: dict[str, str],
        *,
        args: list[str] | None = None,
        port: int | None = None,
        log_path: Path | None = None,
        cwd: Path | None = None,
    ) -> None:
        self._port_chosen = port is None  # ours to choose: another may be tried
        self.port = port or free_port()
        self.cwd = cwd
        self.env = {**os.environ, **env}
        self.args = args or ["serve", "--host", "127.0.0.1", "--port", str(self.port)]
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None
        self._log_file: Any = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, *, ready_path: str = "/healthz", timeout: float = 60) -> GatewayProcess:
        """Start and wait until this process (not another that took the port) answers.

        A port from `free_port()` is free only until someone binds it: in a parallel run
        another test's server may take it while the child starts (the child then exits, and
        the other server answers its health check). When the port was ours to choose, the
        child tries again on a fresh one.
        """
        for attempt in range(PORT_ATTEMPTS):
            try:
                return self._start_once(ready_path, timeout)
            except PortTakenError:
                if not self._port_chosen or attempt == PORT_ATTEMPTS - 1:
                    raise
                taken, self.port = str(self.port), free_port()
                self.args = [str(self.port) if a == taken else a for a in self.args]
        raise AssertionError("unreachable")

    def _start_once(self, ready_path: str, timeout: float) -> GatewayProcess:
        out: Any = subprocess.DEVNULL
        if self.log_path is not None:
            self._log_file = self.log_path.open("ab")
            out = self._log_file
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gateway", *self.args],
            env=self.env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            cwd=self.cwd,
        )

        def settled() -> bool:
            assert self.proc is not None
            if self.proc.poll() is not None:
                return True  # exited: no use waiting
            if not listens(self.proc.pid, self.port):
                return False  # not bound yet (another process may hold the port)
            return httpx.get(self.url + ready_path, timeout=1).status_code == 200

        try:
            wait_until(settled, timeout=timeout, what=f"gateway on {self.port}")
            if self.proc.poll() is not None:
                if listening_pids(self.port):
                    raise PortTakenError(self.port)  # by another process
                raise RuntimeError(
                    f"gateway exited with {self.proc.returncode}; see {self.log_path}"
                )
        except BaseException:
            self.stop()  # a process that was too slow to answer must not outlive the test
            raise
        return self

    def kill(self) -> None:
        """SIGKILL: a crash, no clean-up of any kind."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        """SIGTERM and wait; SIGKILL if it does not go within 15 s."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None


@contextlib.contextmanager
def gateway_process(env: dict[str, str], **kwargs: Any) -> Iterator[GatewayProcess]:
    proc = GatewayProcess(env, **kwargs)
    try:
        yield proc.start()
    finally:
        proc.stop()
