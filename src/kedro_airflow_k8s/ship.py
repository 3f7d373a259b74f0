"""Writing rendered files where Airflow reads them, so no reader ever sees half a file.

A destination is a folder: a local path (``dags``, ``/opt/airflow/dags``, ``file:///opt/airflow/dags``)
or an object-store prefix (``s3://bucket/prefix``, ``gs://bucket/prefix``, ``gcs://bucket/prefix``).

Every file is written whole or not at all:

* local folders: the text goes to a temporary file beside the target (``.<name>.<random>.tmp``,
  which Airflow does not parse) and is renamed over it; on any failure, Ctrl-C, SIGTERM and SIGHUP
  included, the old file stays as it was and the temporary file is removed. Two processes writing
  the same file at once each rename a whole file over it: the last rename wins.
* object stores: one single ``PUT`` of the whole content (never a multipart or resumable upload), so
  the object is replaced in one step and a reader sees the old object or the new one.

Credentials and endpoints
-------------------------
By default everything comes from the environment, read by s3fs/botocore and gcsfs/google-auth:

* S3: ``AWS_ACCESS_KEY_ID`` / ``AWS_SECRET_ACCESS_KEY`` / ``AWS_SESSION_TOKEN``, ``AWS_PROFILE``,
  ``AWS_DEFAULT_REGION``, instance roles... A custom endpoint (MinIO, Ceph, LocalStack, moto) is
  set with ``AWS_ENDPOINT_URL`` (or ``AWS_ENDPOINT_URL_S3``), which botocore honours.
* GCS: ``GOOGLE_APPLICATION_CREDENTIALS`` or the gcloud default credentials. An emulator is set with
  ``STORAGE_EMULATOR_HOST=http://host:port`` (the variable the Google client libraries use); then,
  like those libraries, no credentials are sent unless a ``token`` is given.
* Both: fsspec's ``FSSPEC_S3_<OPTION>`` / ``FSSPEC_GS_<OPTION>`` variables.

``storage_options`` (e.g. ``{"endpoint_url": "http://127.0.0.1:9000"}``, ``{"token": "anon"}``,
``{"profile": "ci"}``) is passed to the s3fs/gcsfs file system and wins over the environment.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import re
import signal
import tempfile
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, NamedTuple

from kedro_airflow_k8s.deadline import DEFAULT_TIMEOUT, Deadline
from kedro_airflow_k8s.errors import PluginError, RemoteError, TimedOut

SUPPORTED = "a local folder, file://, s3://, gs:// or gcs://"

#: scheme -> (extra, module)
_OBJECT_STORES = {"s3": ("aws", "s3fs"), "gs": ("gcp", "gcsfs"), "gcs": ("gcp", "gcsfs")}

# Larger than any DAG or artifact: s3fs switches to multipart at 2 x chunksize and gcsfs to a
# resumable upload at chunksize. S3 takes at most 5 GiB in one PUT.
_SINGLE_PUT_LIMIT = 5 * 2**30

# Per request to an object store: seconds to connect, and to wait for each read of the answer
# (both also bounded by what is left of the command's time limit).
CONNECT_TIMEOUT = 10.0
READ_TIMEOUT = 60.0
# A timeout this close to the deadline is the deadline's (asyncio may fire a timer a hair early).
_DEADLINE_SLACK = 0.1

# Room for the file name in a temporary name (``.<name>.<random>.tmp``) within 255 bytes.
_TEMP_NAME_ROOM = 200

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")


class Destination(NamedTuple):
    """A parsed destination: ``scheme`` is ``""`` for a local folder."""

    scheme: str
    root: str  # local folder path, or "bucket/prefix" without slashes at either end
    text: str  # as the user wrote it, for messages

    @property
    def bucket(self) -> str:
        return self.root.split("/", 1)[0]

    def url(self, name: str) -> str:
        if not self.scheme:
            return os.path.abspath(os.path.join(self.root, name))
        return f"{self.scheme}://{self.root}/{name}"


def parse_destination(destination: str | os.PathLike[str]) -> Destination:
    """Split a destination into scheme and folder/bucket prefix, or raise PluginError."""
    text = os.fspath(destination)
    if not text.strip():
        raise PluginError(f"empty destination: use {SUPPORTED}")
    match = _SCHEME.match(text)
    if match is None:
        return Destination("", text, text)
    scheme = match.group(1).lower()
    rest = text[match.end() :]
    if scheme == "file":
        if rest.startswith("localhost/"):
            rest = rest[len("localhost") :]
        if not rest:
            raise PluginError(f"no folder in destination {text!r}: use file:///path/to/dags")
        return Destination("", rest, text)
    if scheme not in _OBJECT_STORES:
        raise PluginError(
            f"unsupported destination scheme '{scheme}://' in {text!r}: use {SUPPORTED}"
        )
    root = rest.strip("/")
    if not root or rest.startswith("/"):
        raise PluginError(f"no bucket in destination {text!r}: use {scheme}://bucket/prefix")
    return Destination(scheme, re.sub(r"/+", "/", root), text)


def _check_name(name: str, destination: Destination) -> str:
    """A relative POSIX path inside the destination (sub-folders allowed, no '..', '.', '//')."""
    if "\\" in name or any(part in ("", ".", "..") for part in name.split("/")):
        raise PluginError(
            f"file name {name!r} for {destination.text!r} must be a relative path inside it"
        )
    return name


def write_local_atomic(path: Path, text: str | bytes) -> Path:
    """Write ``text`` to ``path`` through a temporary file beside it and a rename.

    A reader sees the old file or the new one, never a partial one; on any failure, Ctrl-C and
    SIGTERM included, the old file is left as it was and the temporary file is removed. ``str``
    is written as UTF-8, line ends as they are. Raises the ``OSError`` of a failed write (see
    :func:`write_local_files` for the one-line error of the CLI).
    """
    data = text.encode("utf-8") if isinstance(text, str) else text
    with terminated_as_exception():
        path.parent.mkdir(parents=True, exist_ok=True)
        temp_name: str | None = None
        # Termination is held back while the temporary file is created and released inside the
        # try block, once its name is known: the clean-up below always finds the file.
        mask = _hold_signals()
        try:
            try:
                fd, temp_name = tempfile.mkstemp(
                    prefix=f".{path.name[:_TEMP_NAME_ROOM]}.", suffix=".tmp", dir=path.parent
                )
            finally:
                _release_signals(mask)
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(temp_name, 0o644)
            os.replace(temp_name, path)
        except BaseException:
            if temp_name is not None:
                Path(temp_name).unlink(missing_ok=True)
            raise
    return path


def write_local_files(
    folder: str | os.PathLike[str], files: Mapping[str, bytes | str]
) -> dict[str, Path]:
    """Write ``files`` (relative name -> content) into a local ``folder``, each whole or not at all.

    A failure is a :class:`RemoteError` with one line naming the file and the path that is
    actually wrong: a file where a folder should be, a folder where the file should be, the
    folder that cannot be written to. Returns name -> absolute path written.
    """
    root = Path(folder)
    written: dict[str, Path] = {}
    for name, content in files.items():
        path = Path(os.path.abspath(root / name))
        try:
            write_local_atomic(path, content)
        except OSError as error:
            raise RemoteError(f"cannot write {path}: {_local_reason(error, path)}") from error
        written[name] = path
    return written


def _local_reason(error: OSError, path: Path) -> str:
    """What is wrong on the way to ``path``, naming the path at fault."""
    if os.path.isdir(path):
        return f"{path} is a folder"
    blocker = _first_existing(path.parent)
    if blocker is not None and not os.path.isdir(blocker):
        return f"{blocker} is not a folder"
    reason = error.strerror or str(error) or type(error).__name__
    if isinstance(error, PermissionError):
        return f"{reason} to write in {blocker or path.parent}"
    if error.errno == errno.ENAMETOOLONG:
        return f"{reason} ({len(path.name)} characters in the file name)"
    return reason


def _first_existing(folder: Path) -> Path | None:
    """``folder`` or its nearest ancestor that exists (as anything: file, folder, link)."""
    for candidate in (folder, *folder.parents):
        if os.path.lexists(candidate):
            return candidate
    return None


class Terminated(BaseException):
    """SIGTERM (or SIGHUP) arrived while a file was written: raised so that the clean-up of
    the write runs; :func:`terminated_as_exception` then ends the process by that signal."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


_TERMINATING = tuple(
    getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name)
)


@contextlib.contextmanager
def terminated_as_exception() -> Iterator[None]:
    """While inside, SIGTERM and SIGHUP raise :class:`Terminated` (as SIGINT raises
    KeyboardInterrupt), so ``finally`` and ``except`` blocks remove temporary files; on the way
    out the process is ended by the same signal, as it would have been without this.

    Only in the main thread, and only for signals still at their default action: a handler that
    someone else installed, or an ignored signal, is left alone.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    installed: dict[int, Any] = {}
    for signum in _TERMINATING:
        if signal.getsignal(signum) is signal.SIG_DFL:
            installed[signum] = signal.signal(signum, _raise_terminated)
    try:
        yield
    except Terminated as stop:
        for signum, previous in installed.items():
            signal.signal(signum, previous)
        installed.clear()
        if stop.signum in _TERMINATING:
            os.kill(os.getpid(), stop.signum)  # default action: the process ends here
        raise SystemExit(128 + stop.signum) from stop
    finally:
        for signum, previous in installed.items():
            signal.signal(signum, previous)


def _raise_terminated(signum: int, frame: Any) -> None:
    raise Terminated(signum)


def _hold_signals() -> set[int] | None:
    """Block SIGTERM, SIGHUP and SIGINT (they wait, pending); the mask to restore, or None where
    the platform cannot block signals."""
    if not hasattr(signal, "pthread_sigmask"):
        return None
    return signal.pthread_sigmask(signal.SIG_BLOCK, {*_TERMINATING, signal.SIGINT})


def _release_signals(mask: set[int] | None) -> None:
    """Restore the mask :func:`_hold_signals` returned; a pending signal is handled now."""
    if mask is not None:
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)


def upload_text(
    destination: str | os.PathLike[str],
    file_name: str,
    text: str,
    *,
    storage_options: Mapping[str, Any] | None = None,
    deadline: Deadline | None = None,
) -> str:
    """Write ``text`` as ``file_name`` in ``destination`` and return where it was written.

    The return value is an absolute path for local folders and ``scheme://bucket/prefix/name``
    for object stores. Raises :class:`PluginError` with a one-line message naming the
    destination when the extra is missing, the scheme is unknown or the storage refuses, and
    :class:`TimedOut` when an object store has not answered within ``deadline``.
    """
    written = upload_files(
        destination, {file_name: text}, storage_options=storage_options, deadline=deadline
    )
    return written[file_name]


def upload_files(
    destination: str | os.PathLike[str],
    files: Mapping[str, bytes | str],
    *,
    storage_options: Mapping[str, Any] | None = None,
    deadline: Deadline | None = None,
) -> dict[str, str]:
    """Write several files (name -> content) into ``destination``, each one whole or not at all.

    Files are written one after the other in the mapping's order (so put a DAG that refers to
    the others last); there is no all-or-nothing across files. Returns name -> where written.

    Object stores: each request has connect and read timeouts, and all the writes together end
    at ``deadline`` (default: :data:`~kedro_airflow_k8s.deadline.DEFAULT_TIMEOUT` seconds from
    now), whatever the storage does; the write in flight is then cancelled and
    :class:`TimedOut` raised. Local folders are written by the operating system, which has no
    such limits.
    """
    target = parse_destination(destination)
    names = {name: _check_name(name, target) for name in files}
    if not files:
        return {}
    if not target.scheme:
        return _write_local(target, files, names)
    limit = deadline if deadline is not None else Deadline(DEFAULT_TIMEOUT)
    fs = _object_store(target, storage_options or {}, limit)
    written: dict[str, str] = {}
    for name, content in files.items():
        data = content.encode("utf-8") if isinstance(content, str) else bytes(content)
        url = target.url(names[name])
        if len(data) >= _SINGLE_PUT_LIMIT:
            raise PluginError(
                f"cannot write {url}: {len(data)} bytes is over the 5 GiB one-PUT limit"
            )
        _put(fs, f"{target.root}/{names[name]}", data, url, target, limit)
        written[name] = url
    return written


def _put(fs: Any, path: str, data: bytes, url: str, target: Destination, limit: Deadline) -> None:
    """One single-request upload, ended at the deadline whatever the storage does."""
    import fsspec.asyn

    what = f"writing {url}"
    limit.check(what)
    chunksize = max(50 * 2**20, len(data) + 1)
    try:
        with _no_library_tracebacks():
            # fsspec's own bridge to the file system's event loop, with a timeout: the upload
            # is cancelled when it runs out (a storage that accepts the connection and never
            # answers holds an upload that waits for "100 Continue" past any read timeout).
            fsspec.asyn.sync(
                fs.loop,
                fs._pipe_file,
                path,
                data,
                chunksize=chunksize,
                timeout=max(limit.remaining(), 0.001),
            )
    except asyncio.TimeoutError as error:  # fsspec's FSTimeoutError, or a request's timeout
        if limit.remaining() <= _DEADLINE_SLACK:
            raise TimedOut(limit.message(what)) from error
        raise RemoteError(f"cannot write {url}: {_describe(error, target)}") from error
    except Exception as error:
        raise RemoteError(f"cannot write {url}: {_describe(error, target)}") from error


def _write_local(
    target: Destination, files: Mapping[str, bytes | str], names: Mapping[str, str]
) -> dict[str, str]:
    written = write_local_files(target.root, {names[n]: content for n, content in files.items()})
    return {name: str(written[names[name]]) for name in files}


def _object_store(target: Destination, options: Mapping[str, Any], limit: Deadline) -> Any:
    """A fresh s3fs/gcsfs file system for ``target`` (the import is here: they are extras), with
    connect and read timeouts per request unless ``options`` or fsspec's config set them."""
    extra, module = _OBJECT_STORES[target.scheme]
    missing = PluginError(
        f"{target.scheme}:// outputs need the {extra} extra: "
        f"pip install 'kedro-airflow-k8s[{extra}]'"
    )
    kwargs = {"skip_instance_cache": True, **options}
    connect = max(0.001, limit.bound(CONNECT_TIMEOUT))
    read = max(0.001, limit.bound(READ_TIMEOUT))
    try:
        if module == "s3fs":
            import s3fs

            factory: Any = s3fs.S3FileSystem
            # botocore's timeouts; keys the user set (here or in FSSPEC_S3_CONFIG_KWARGS) win.
            config = {"connect_timeout": connect, "read_timeout": read}
            config.update(_fsspec_option("config_kwargs", ("s3", "s3a")) or {})
            config.update(options.get("config_kwargs") or {})
            kwargs["config_kwargs"] = config
        else:
            import aiohttp
            import gcsfs

            factory = gcsfs.GCSFileSystem
            if not _gcs_option_set("requests_timeout", options):
                kwargs["requests_timeout"] = aiohttp.ClientTimeout(
                    total=None, sock_connect=connect, sock_read=read
                )
            if _gcs_emulated(options):
                # gcsfs >= 2026.x exports ExtendedGcsFileSystem by default, which first asks the
                # gRPC Storage Control API for the bucket type (zonal / hierarchical). An emulator
                # or proxy speaks only the JSON API, so that probe retries for 60 s per bucket
                # before falling back. The plain JSON-API class skips it; this is what
                # GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT=false does, without changing the process env.
                import gcsfs.core

                factory = gcsfs.core.GCSFileSystem
                if not _gcs_option_set("endpoint_url", options) and not _gcs_option_set(
                    "token", options
                ):
                    # Only STORAGE_EMULATOR_HOST points at the emulator: like google-cloud-storage,
                    # send no credentials (and do not look for a cloud metadata server).
                    kwargs["token"] = "anon"
    except ImportError as error:
        raise missing from error
    try:
        return factory(**kwargs)
    except Exception as error:
        raise RemoteError(
            f"cannot open {target.text!r}: {_describe(error, target)} (storage options: "
            f"{', '.join(sorted(options)) or 'none'})"
        ) from error


def _fsspec_option(option: str, protocols: tuple[str, ...]) -> Any:
    """An option set in fsspec's config (FSSPEC_<PROTOCOL>_<OPTION>) for one of ``protocols``."""
    import fsspec.config

    for protocol in protocols:
        value = fsspec.config.conf.get(protocol, {}).get(option)
        if value is not None:
            return value
    return None


class _DropTracebacks(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not record.exc_info


@contextlib.contextmanager
def _no_library_tracebacks() -> Iterator[None]:
    """Keep gcsfs/s3fs from logging a traceback for an error that becomes a PluginError.

    gcsfs logs ``logger.exception(...)`` before re-raising a failed request (a 401, or a
    connection error once out of retries); the CLI promise is one line and no traceback.
    Records without a traceback pass.
    """
    drop = _DropTracebacks()
    loggers = [logging.getLogger(name) for name in ("gcsfs", "s3fs")]
    for logger in loggers:
        logger.addFilter(drop)
    try:
        yield
    finally:
        for logger in loggers:
            logger.removeFilter(drop)


def _gcs_option_set(option: str, options: Mapping[str, Any]) -> bool:
    """Whether a gcsfs option is given, in ``options`` or in fsspec's config (FSSPEC_GS_*)."""
    import fsspec.config

    sources = [options, *(fsspec.config.conf.get(p, {}) for p in ("gs", "gcs", "gcsfs"))]
    return any(source.get(option) is not None for source in sources)


def _gcs_emulated(options: Mapping[str, Any]) -> bool:
    """Whether GCS is reached at a non-Google endpoint (options, fsspec config or env)."""
    if _gcs_option_set("endpoint_url", options):
        return True
    return os.environ.get("STORAGE_EMULATOR_HOST", "") not in ("", "default")


def _describe(error: BaseException, target: Destination) -> str:
    """One short clause for a storage error."""
    detail = " ".join(str(error).split())[:300] or type(error).__name__
    name = type(error).__name__
    if isinstance(error, FileNotFoundError):
        return (
            f"bucket '{target.bucket}' does not exist or is not visible with these "
            f"credentials ({detail})"
        )
    if (
        isinstance(error, PermissionError)
        or getattr(error, "code", None) in (401, 403)  # gcsfs HttpError
        or detail.startswith("Forbidden")  # gcsfs: OSError("Forbidden: <url> <message>")
    ):
        return f"access denied, check the credentials ({detail})"
    if isinstance(error, asyncio.TimeoutError):
        return "the storage did not answer within a request's time limit"
    if isinstance(error, ConnectionError) or "Connect" in name or "Timeout" in name:
        return f"cannot connect to the storage endpoint ({name}: {detail})"
    if "Credentials" in name:
        return f"no usable credentials ({name}: {detail})"
    return f"{name}: {detail}"
