"""The API keys in force: those of the settings, plus a keys file re-read when it changes.

Rotating a key is then an edit of one file (`geo-service apikey NAME --keys-file F` appends to it):
every worker sees the change within a second, no restart. A file that does not parse keeps the
keys read before and logs why, so a half-saved edit never locks everybody out.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

import yaml
from pydantic import TypeAdapter, ValidationError

from ..settings import ApiKey

log = logging.getLogger("geo_service.api")
CHECK_EVERY_S = 1.0
_KEYS = TypeAdapter(list[ApiKey])


def read_keys_file(path: Path) -> list[ApiKey]:
    """The entries of a keys file: a YAML (or JSON) list of {name, role, sha256}; empty when it is empty."""
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    if isinstance(data, dict):  # a config-style file with an api_keys member
        data = data.get("api_keys", [])
    return _KEYS.validate_python(data)


def append_key(path: Path, entry: ApiKey) -> None:
    """Add one entry to a keys file (created when missing), written whole and renamed into place."""
    entries = read_keys_file(path) if path.exists() else []
    entries.append(entry)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps([e.model_dump() for e in entries], ensure_ascii=False, indent=1) + "\n",
                   encoding="utf-8")
    tmp.chmod(0o600)
    tmp.replace(path)


class KeyRing:
    def __init__(self, fixed: Callable[[], list[ApiKey]], path: Path | None):
        self.fixed = fixed  # the settings' keys, read at each call (settings may be replaced, as in tests)
        self.path = path
        self._lock = threading.Lock()
        self._stamp: tuple[int, int] | None = None
        self._from_file: list[ApiKey] = []
        self._checked = 0.0
        if self.path is not None:
            self._reload()

    def _reload(self) -> None:
        try:
            stat = self.path.stat()
        except OSError:
            stamp = None
        else:
            stamp = (stat.st_mtime_ns, stat.st_size)
        if stamp == self._stamp:
            return
        try:
            self._from_file = read_keys_file(self.path) if stamp is not None else []
        except (OSError, yaml.YAMLError, ValidationError) as e:
            log.error("keys file %s not read (keeping the %d keys read before): %s", self.path,
                      len(self._from_file), e)
            return
        self._stamp = stamp
        log.info("keys file %s: %d key(s)", self.path, len(self._from_file))

    def keys(self) -> list[ApiKey]:
        if self.path is not None and time.monotonic() - self._checked > CHECK_EVERY_S:
            with self._lock:
                if time.monotonic() - self._checked > CHECK_EVERY_S:
                    self._reload()
                    self._checked = time.monotonic()
        return list(self.fixed()) + self._from_file
