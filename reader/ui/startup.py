"""The start-up log: what a start of the window did, and when.

Every start writes ``startup.log`` in the user's cache folder (``$XDG_CACHE_HOME/reader-desktop``):
one line per step, milliseconds since the process started, then what became of the window. When no
window is on screen :data:`NO_WINDOW_AFTER_S` seconds after it was shown, that is written there at
once, with what Qt says about the window and the screen (a start "with no window" can then be told
apart: still busy, shown but never exposed by the window system, or no screen at all), and said on
stderr in one line.

The log is written after the first paint (a few hundred bytes), never before it.

The sidebar's counts are in the first paint: :class:`EarlyCounts` counts them on a thread of their
own from the start of :func:`reader.ui.app.run`, while Qt and the window's modules are imported and
the window is built (SQLite lets go of the GIL while it counts: the second core does the work).
Qt's libraries load and fontconfig sets itself up on another (:class:`WarmUp`) meanwhile.
"""

from __future__ import annotations

import _ctypes
import contextlib
import gc
import os
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reader import paths

if TYPE_CHECKING:
    from collections.abc import Iterator

    from reader.store import StoreAddress
    from reader.ui.counts import Counts

#: Seconds after ``show()`` with no window painted on screen before the log says so.
NO_WINDOW_AFTER_S = 5.0

#: How long the window's start waits, at most, for counts still being counted when it is about to
#: show them: past that the first paint has no counts and they follow it (a very large store, or a
#: machine whose other core is busy).
EARLY_COUNTS_WAIT_S = 0.05


def process_age_s() -> float | None:
    """Seconds since this process started (Linux: from /proc, in clock ticks), or None."""
    try:
        with open("/proc/self/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
        started = int(fields[19]) / os.sysconf("SC_CLK_TCK")  # field 22: starttime, since boot
        return max(0.0, time.clock_gettime(time.CLOCK_BOOTTIME) - started)
    except (OSError, ValueError, IndexError, AttributeError):
        return None


class StartupLog:
    """Steps of one start, timed from the process's start (or from this object, where the
    process's start cannot be read)."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path if path is not None else paths.user_cache_dir() / "startup.log"
        age = process_age_s()
        self._origin = time.monotonic() - (age or 0.0)
        since = "the process's start" if age is not None else "the log's start"
        self.lines: list[str] = [f"reader, process {os.getpid()}: start-up, times since {since}"]
        self.on_screen = False
        self.watchdog: Any = None
        #: (monotonic time, step) of steps other threads do (the :class:`WarmUp`'s), appended as done.
        self.elsewhere: list[tuple[float, str]] = []
        self._marked: list[float] = []  # (when each of lines[1:] was marked)

    def mark(self, step: str) -> None:
        at = time.monotonic()
        self._marked.append(at)
        self.lines.append(f"{(at - self._origin) * 1000:8.0f} ms  {step}")

    def written_lines(self) -> list[str]:
        """The log's lines, with the steps other threads did so far (:attr:`elsewhere`) in their
        place by time (the times themselves, not as rounded in the lines: a step on another thread
        done less than half a millisecond before one here came after it)."""
        here = list(zip(self._marked, self.lines[1:], strict=True))
        there = [(at, f"{(at - self._origin) * 1000:8.0f} ms  {step}") for at, step in list(self.elsewhere)]
        return [self.lines[0], *(line for _, line in sorted(here + there, key=lambda pair: pair[0]))]

    def write(self) -> None:
        """Write the log so far (over the last start's). A log that cannot be written is left."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.write_text("\n".join(self.written_lines()) + "\n", encoding="utf-8")
        except OSError:
            pass


def window_state(window: Any) -> str:
    """What Qt says of ``window`` and the screen: for a start that showed nothing."""
    from PySide6.QtGui import QGuiApplication

    handle = window.windowHandle()
    screens = QGuiApplication.screens()
    geometry = window.geometry()
    return (
        f"platform {QGuiApplication.platformName()}, {len(screens)} screen(s); window visible "
        f"{window.isVisible()}, minimized {window.isMinimized()}, has a native window {handle is not None}, "
        f"exposed {handle is not None and handle.isExposed()}, at {geometry.x()},{geometry.y()} "
        f"{geometry.width()}x{geometry.height()}"
    )


def watch(window: Any, log: StartupLog, after_s: float = NO_WINDOW_AFTER_S) -> Any:
    """Once ``window`` is shown: if it is not on screen ``after_s`` later, log why (and say so).
    Returns the (single-shot) QTimer that checks."""
    from PySide6.QtCore import QTimer

    def check() -> None:
        if log.on_screen:
            return
        resume_collection()  # (no first paint yet, maybe never: not a whole session without it)
        log.mark(f"no window on screen {after_s:g} s after it was shown: {window_state(window)}")
        log.write()
        print(
            f"reader: the window is not on screen {after_s:g} s after it was shown "
            f"({window_state(window)}); see {log.path}",
            file=sys.stderr,
        )

    timer = QTimer()
    log.watchdog = timer  # kept as long as the log (the window may be any object)
    timer.setSingleShot(True)
    timer.timeout.connect(check)
    timer.start(int(after_s * 1000))
    return timer


class EarlyCounts:
    """The sidebar's counts (:func:`reader.ui.counts.count_store`), counted on a thread started
    with the window's start, so that its first paint shows them without waiting for them: at
    100,000 articles they take tens of milliseconds, about as long as Qt's own start-up.

    Nothing is lost when counting fails (a store that went away, a locked one): :meth:`result` is
    None, and the window counts after its first paint as it does later on.
    """

    def __init__(self, db: StoreAddress) -> None:
        self._done = threading.Event()
        self._counts: Counts | None = None
        self._thread = threading.Thread(target=self._count, args=(db,), name="reader-early-counts", daemon=True)
        self._thread.start()

    def _count(self, db: StoreAddress) -> None:
        try:
            from reader.ui.counts import count_store

            self._counts = count_store(db)
        except Exception:  # (StoreError, sqlite3's, OSError): the window counts again after its paint
            self._counts = None
        finally:
            self._done.set()

    def result(self, timeout_s: float = EARLY_COUNTS_WAIT_S) -> Counts | None:
        """The counts, waiting at most ``timeout_s`` for them; None when they are not there by then
        (or counting failed)."""
        self._done.wait(timeout_s)
        return self._counts if self._done.is_set() else None


#: Qt's libraries that PySide6's QtCore, QtGui and QtWidgets and the xcb platform plugin link, in
#: the order they load. Qt's own libraries only: PySide6's (libpyside6, libshiboken6) and the
#: extension modules call into Python as they load.
QT_LIBRARIES = ("libQt6Core.so.6", "libQt6DBus.so.6", "libQt6Gui.so.6", "libQt6Widgets.so.6", "libQt6XcbQpa.so.6")

#: The library Qt's font database reads on Linux (and the other Unix desktops).
FONTCONFIG = "libfontconfig.so.1"


class _Int(_ctypes._SimpleCData):
    _type_ = "i"  # (ctypes.c_int: the ctypes package is not imported before the first paint)


class _CFunction(_ctypes.CFuncPtr):
    """A C function returning an int, called without arguments; the GIL is let go meanwhile."""

    _flags_ = _ctypes.FUNCFLAG_CDECL
    _restype_ = _Int


def _qt_library_folder() -> str | None:
    """The folder of the Qt libraries a PySide6 wheel carries (``PySide6/Qt/lib``), found without
    importing PySide6; None for a PySide6 that uses the system's Qt (found by name then)."""
    for entry in sys.path:
        folder = os.path.join(entry or ".", "PySide6", "Qt", "lib")
        if os.path.isdir(folder):
            return folder
    return None


class WarmUp:
    """What the window's start hands to the second core, on a thread started as the command line
    sees that the window opens, before anything imports Qt:

    - *Qt's libraries loaded* (:data:`QT_LIBRARIES`; first, with a display, the X libraries the
      display check of :func:`reader.ui.app.platform_problem` loads): loading and relocating them
      was 20-60 ms of the import of PySide6 on the UI thread (which then finds them loaded: the
      dynamic loader hands the same libraries to PySide6's modules; one that is still loading, it
      waits for). Only where their Python bindings will load them anyway: nothing of Qt runs
      before them.
    - *Fontconfig set up* (``FcInit``: its configuration files and font caches read): Qt has it
      done on the UI thread at the window's first text otherwise (the search field, in the window's
      build): 10-20 ms, and 1-2 ms once done. Fontconfig sets itself up once per process, safely
      from two threads at once; Qt's call then finds it done.

    ``FcInit`` lets go of the GIL; ``_ctypes.dlopen`` does not (CPython 3.11 holds it through the
    whole load), so the UI thread's Python waits while a library loads, about what it would have
    spent loading it itself. (libc's dlopen called as a ctypes function lets go of the GIL, but
    measured no faster: the UI thread's own imports then wait for the loader's lock instead.)
    Linux only (elsewhere Qt loads its own way). Nothing is lost when a step fails (a library
    missing, a Qt found elsewhere): Qt does it as before.
    """

    def __init__(self) -> None:
        #: (monotonic time, what was done) for the start-up log.
        self.steps: list[tuple[float, str]] = []
        self.thread = threading.Thread(target=self._run, name="reader-warm-up", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        began = time.monotonic()
        if os.environ.get("DISPLAY"):
            from reader.ui.app import XCB_LIBRARIES

            for soname in XCB_LIBRARIES:  # (the display check's: it finds them loaded)
                with contextlib.suppress(OSError):  # (the check names the missing ones)
                    _ctypes.dlopen(soname, os.RTLD_LOCAL)
        folder = _qt_library_folder()
        loaded = 0
        for name in QT_LIBRARIES:
            try:
                _ctypes.dlopen(name if folder is None else os.path.join(folder, name), os.RTLD_LOCAL)
            except OSError:
                break  # (the next ones need it)
            loaded += 1
        now = time.monotonic()
        self.steps.append(
            (
                now,
                f"Qt's libraries loaded on a thread ({loaded} of {len(QT_LIBRARIES)}) in {(now - began) * 1000:.0f} ms",
            )
        )
        try:
            set_up = _CFunction(_ctypes.dlsym(_ctypes.dlopen(FONTCONFIG, os.RTLD_LOCAL), "FcInit"))
        except OSError:
            self.steps.append((time.monotonic(), "no fontconfig: Qt finds its fonts its own way"))
            return
        began = time.monotonic()
        done = set_up()
        now = time.monotonic()
        said = "" if done else " (it failed: Qt tries again)"
        self.steps.append((now, f"fonts set up on a thread in {(now - began) * 1000:.0f} ms{said}"))


_warm_up: WarmUp | None = None


def warm_up() -> WarmUp | None:
    """The window's :class:`WarmUp`, started by the first call (the command line's, as it sees the
    window opens; :func:`reader.ui.app.run`'s otherwise); None where it does not apply (not Linux)."""
    global _warm_up
    if _warm_up is None and sys.platform.startswith("linux"):
        _warm_up = WarmUp()
    return _warm_up


#: Where :class:`SupportCodeCache` keeps PySide6's support code, compiled (in the cache folder).
SUPPORT_CODE_CACHE = "pyside-support-code.marshal"


#: PySide6's support modules whose code :class:`SupportCodeCache` runs at the first use of one of
#: their names, not as they are imported: PySide6's signature loader imports its ``.pyi`` generator
#: at every start, though only its stub-file tool (``pyside6-genpyi``) uses it, and that module's
#: body compiles two large regular expressions (6-7 ms) and imports argparse.
DEFERRED_SUPPORT = frozenset({"shibokensupport/signature/lib/pyi_generator.py"})

#: The code of a module of DEFERRED_SUPPORT, by file name, until its first use runs it.
_deferred_code: dict[str, Any] = {}
_deferred_lock = threading.RLock()  # (re-entered, should its code use one of its own names)

#: What such a module holds until then: a module ``__getattr__`` (PEP 562), called for a name the
#: module does not have yet, which runs the module's own code in its namespace, then is gone.
_DEFERRING = """
def __getattr__(name):
    from reader.ui.startup import run_deferred
    run_deferred({filename!r}, globals())
    try:
        return globals()[name]
    except KeyError:
        raise AttributeError(f"module {{__name__!r}} has no attribute {{name!r}}") from None
"""


def run_deferred(filename: str, namespace: dict[str, Any]) -> None:
    """Run the code of the deferred support module ``filename`` in its module's ``namespace``, once."""
    with _deferred_lock:
        code = _deferred_code.pop(filename, None)
        if code is not None:
            del namespace["__getattr__"]
            exec(code, namespace)


class SupportCodeCache:
    """PySide6's support code, compiled once and kept, as Python keeps its own modules' in ``.pyc``.

    Importing PySide6 sets up its signature support: shiboken's bootstrap (``signature_bootstrap``)
    and the 13 ``shibokensupport`` modules it carries inside libshiboken, which it compiles from
    their source at every start (``compile()``; no ``.pyc`` is ever written for them): 15-16 ms of
    the UI thread's CPU before the first paint, a fifth of the import of PySide6 (the bare PySide6
    window pays it too). Within :meth:`serving`, ``compile()`` hands those files the code compiled
    for the very same source (compared whole), flags and optimization level, read from
    :attr:`path` (one ``marshal`` file of about 300 kB, unmarshalled in under a millisecond);
    anything else is compiled as before. What it compiled anew (the first start, or a PySide6 or
    a Python that changed) is written there for the next start. A file that cannot be read or
    written is left: the code is compiled, as without it. The modules of :data:`DEFERRED_SUPPORT`
    run at the first use of one of their names instead. (The file is trusted as ``__pycache__``
    is: it sits in the user's own cache folder.)
    """

    def __init__(self, path: Path | None = None) -> None:
        self.path = path if path is not None else paths.user_cache_dir() / SUPPORT_CODE_CACHE
        #: How many files :meth:`serving` handed compiled code, how many it compiled, and how many
        #: of them run at their first use (:data:`DEFERRED_SUPPORT`).
        self.served = 0
        self.compiled = 0
        self.deferred = 0

    @staticmethod
    def _is_support(filename: object) -> bool:
        return isinstance(filename, str) and (
            filename.startswith("shibokensupport/") or filename == "signature_bootstrap.py"
        )

    def _read(self) -> dict[tuple[str, int, int], tuple[bytes | str, Any]]:
        import marshal

        try:
            version, entries = marshal.loads(self.path.read_bytes())
        except (OSError, EOFError, ValueError, TypeError):
            return {}
        return entries if version == sys.version and isinstance(entries, dict) else {}

    def _write(self, entries: dict[tuple[str, int, int], tuple[bytes | str, Any]]) -> None:
        import marshal

        partial = self.path.with_name(f"{self.path.name}.{os.getpid()}")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            partial.write_bytes(marshal.dumps((sys.version, entries)))
            os.replace(partial, self.path)  # (another start reads the old file or the new, whole)
        except OSError:
            with contextlib.suppress(OSError):
                partial.unlink()

    @contextlib.contextmanager
    def serving(self) -> Iterator[None]:
        """``compile()`` serves the support code from the cache while the block runs (the import
        of PySide6's first module)."""
        import __future__

        import builtins

        known = self._read()
        fresh: dict[tuple[str, int, int], tuple[bytes | str, Any]] = {}
        original = builtins.compile
        # What compile() takes from its caller's own ``from __future__`` imports when not told
        # otherwise (CPython's PyCF_MASK: every feature but the obsolete nested_scopes).
        inherited = 0
        for name in __future__.all_feature_names:
            if name != "nested_scopes":
                inherited |= getattr(__future__, name).compiler_flag

        def compile_support(
            source: Any,
            filename: Any,
            mode: str,
            flags: int = 0,
            dont_inherit: bool = False,
            optimize: int = -1,
            **more: Any,
        ) -> Any:
            if not dont_inherit:  # (compiled below with the caller's flags, as compile() takes them)
                flags |= sys._getframe(1).f_code.co_flags & inherited
            plain = not more and mode == "exec" and not flags & ~inherited  # (code: no AST, no other option)
            if not plain or not self._is_support(filename) or not isinstance(source, (bytes, str)):
                return original(source, filename, mode, flags, True, optimize, **more)
            key = (filename, flags, sys.flags.optimize if optimize == -1 else optimize)
            hit = known.get(key)
            if hit is not None and hit[0] == source:
                self.served += 1
                code = hit[1]
            else:
                code = original(source, filename, mode, flags, True, optimize)
                fresh[key] = (source, code)
                self.compiled += 1
            if filename in DEFERRED_SUPPORT:
                _deferred_code[filename] = code
                self.deferred += 1
                return original(_DEFERRING.format(filename=filename), filename, "exec", 0, True)
            return code

        builtins.compile = compile_support
        try:
            yield
        finally:
            builtins.compile = original
        if fresh:
            self._write(known | fresh)


_collection_paused = False


def pause_collection() -> None:
    """Python's cyclic garbage collector waits from the window's start to its first paint (see
    :func:`resume_collection`): importing PySide6 and the window's modules makes objects by the
    hundred thousand (Qt's types and enums among them), and the collector went over all of them
    again and again meanwhile: about 50 collections, 15% of the imports' CPU time (360 -> 305 ms,
    medians of 9 at load 14). A start makes few cycles and frees them once it is back on."""
    global _collection_paused
    if gc.isenabled():
        gc.disable()
        _collection_paused = True


def resume_collection() -> None:
    """The collector back on (after the first paint; also when a start ends before it), unless
    something other than :func:`pause_collection` had it off."""
    global _collection_paused
    if _collection_paused:
        _collection_paused = False
        gc.enable()
