"""A real registry server (Debian's docker-registry) on loopback, and a fault-injecting proxy."""

from __future__ import annotations

import contextlib
import json
import re
import socket
import ssl
import subprocess
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from dockwright.storage.registry import UPLOAD_RE


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Registry:
    root: Path
    tls: bool = False
    user: str = ""
    password: str = ""
    port: int = field(default_factory=free_port)
    deletes: bool = True
    proc: subprocess.Popen[bytes] | None = None

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> Registry:
        self.root.mkdir(parents=True, exist_ok=True)
        config = [
            "version: 0.1",
            "log: {level: warn}",
            f"storage: {{filesystem: {{rootdirectory: {self.root / 'data'}}}, "
            f"delete: {{enabled: {'true' if self.deletes else 'false'}}}}}",
            "http:",
            f"  addr: {self.host}",
        ]
        if self.tls:
            cert, key = self.root / "cert.pem", self.root / "key.pem"
            subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                            "-days", "2", "-subj", "/CN=127.0.0.1", "-addext",
                            "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out",
                            str(cert)], check=True, capture_output=True)
            config += ["  tls:", f"    certificate: {cert}", f"    key: {key}"]
        if self.user:
            htpasswd = self.root / "htpasswd"
            out = subprocess.run(["htpasswd", "-Bbn", self.user, self.password], check=True,
                                 capture_output=True, text=True).stdout
            htpasswd.write_text(out)
            config += ["auth:", "  htpasswd:", "    realm: dockwright-test",
                       f"    path: {htpasswd}"]
        (self.root / "config.yml").write_text("\n".join(config) + "\n")
        self.proc = subprocess.Popen(["docker-registry", "serve", str(self.root / "config.yml")],
                                     stdout=subprocess.DEVNULL,
                                     stderr=open(self.root / "log", "wb"))  # noqa: SIM115
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self._answers():
                return self
            assert self.proc.poll() is None, (self.root / "log").read_text()
            time.sleep(0.1)
        raise AssertionError("registry did not start: " + (self.root / "log").read_text())

    def _answers(self) -> bool:
        scheme = "https" if self.tls else "http"
        ctx = ssl._create_unverified_context() if self.tls else None
        try:
            urllib.request.urlopen(f"{scheme}://{self.host}/v2/", timeout=1, context=ctx)
            return True
        except urllib.error.HTTPError:
            return True  # 401 from an authenticated registry: it is up
        except OSError:
            return False

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)

    def tags(self, repo: str, authfile: Path | None = None) -> list[str]:
        argv = ["skopeo", "list-tags", "--tls-verify=false"]
        if authfile:
            argv += ["--authfile", str(authfile)]
        p = subprocess.run([*argv, f"docker://{self.host}/{repo}"], capture_output=True,
                           text=True)
        if p.returncode != 0:  # a repository nobody pushed to yet (skopeo 1.9, 1.18 wording)
            assert re.search(r"404|NAME_UNKNOWN|name unknown|repository name not known",
                             p.stderr), p.stderr
            return []
        return sorted(json.loads(p.stdout)["Tags"] or [])

    def stage_tags(self, repo: str, authfile: Path | None = None) -> list[str]:
        """The stage tags, ``<digest>-<unix millis>``."""
        return [t for t in self.tags(repo, authfile) if re.fullmatch(r"[0-9a-f]{56}-\d{13}", t)]

    def upload_tags(self, repo: str) -> list[str]:
        """``<digest>-upload-<builder>``: what each stage was uploaded as before its tag was
        stamped."""
        return [t for t in self.tags(repo) if UPLOAD_RE.match(t)]

    def login(self, authfile: Path) -> None:
        subprocess.run(["skopeo", "login", "--tls-verify=false", "--authfile", str(authfile),
                        "-u", self.user, "--password-stdin", self.host], input=self.password,
                       check=True, capture_output=True, text=True)


class FaultProxy:
    """A TCP proxy on loopback in front of a registry, that breaks connections on purpose.

    ``mode``: "refuse" closes every connection at once; "503" answers the first ``count``
    connections with HTTP 503; "reset" forwards, but resets the first ``count`` connections
    that upload more than ``after`` bytes (a push cut off in the middle).
    """

    def __init__(self, upstream: int, mode: str, count: int = 1, after: int = 64 * 1024):
        self.upstream = upstream
        self.mode = mode
        self.count = count
        self.after = after
        self.port = free_port()
        self.faults = 0
        self._lock = threading.Lock()
        self._server = socket.socket()
        self._server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._server.bind(("127.0.0.1", self.port))
        self._server.listen(64)
        self._stop = False
        self._thread = threading.Thread(target=self._accept, daemon=True)

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def __enter__(self) -> FaultProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop = True
        with contextlib.suppress(OSError):
            self._server.close()

    def _take_fault(self) -> bool:
        with self._lock:
            if self.mode == "refuse":
                self.faults += 1
                return True
            if self.faults < self.count:
                self.faults += 1
                return True
            return False

    def _accept(self) -> None:
        while not self._stop:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        if self.mode == "refuse":
            self._take_fault()
            _reset(client)
            return
        if self.mode == "503" and self._take_fault():
            with contextlib.suppress(OSError):
                client.recv(65536)
                client.sendall(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n"
                               b"Connection: close\r\n\r\n")
            client.close()
            return
        try:
            upstream = socket.create_connection(("127.0.0.1", self.upstream))
        except OSError:
            client.close()
            return
        state = {"sent": 0, "armed": self.mode == "reset"}

        def pump(src: socket.socket, dst: socket.socket, upload: bool) -> None:
            try:
                while data := src.recv(65536):
                    if upload and state["armed"]:
                        state["sent"] += len(data)
                        if state["sent"] > self.after:
                            if self._take_fault():
                                _reset(client)
                                _reset(upstream)
                                return
                            state["armed"] = False
                    dst.sendall(data)
            except OSError:
                pass
            finally:
                with contextlib.suppress(OSError):
                    dst.shutdown(socket.SHUT_WR)

        up = threading.Thread(target=pump, args=(client, upstream, True), daemon=True)
        up.start()
        pump(upstream, client, False)
        up.join(timeout=30)
        client.close()
        upstream.close()


def _reset(sock: socket.socket) -> None:
    """Close with RST (SO_LINGER 0): the peer sees 'connection reset by peer'."""
    import struct

    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()
