"""The catalog as the plan needs it: each entry's name and ``type``, read the way Kedro reads it.

Kedro's ``OmegaConfigLoader`` builds the whole catalog through OmegaConf (every value becomes
an OmegaConf node, is merged and interpolated), which takes most of compile's time on a large
project although the plan reads only the entries' names and types. :func:`read_catalog_types`
reads those with the loader's own settings and Kedro's rules:

* the files: the loader's ``catalog`` patterns (``catalog*``, ``catalog*/**``, ``**/catalog*``
  by default) in the base environment and then the run one (``env``, else
  ``default_run_env``), matched by fsspec's ``glob`` as Kedro does, hidden files and folders
  left out unless ``ignore_hidden`` is false, ``.yml``, ``.yaml`` and ``.json`` only;
* each file parsed by OmegaConf's own YAML loader (the same scalars and duplicate-key errors,
  and OmegaConf's limit on the nodes of one document); a plain file is read from the
  parser's events and only each entry's ``type`` is built, any other file is built whole (see
  :func:`_plain_entries`);
* within an environment a top-level key defined in two files is an error, keys starting with
  ``_`` (YAML anchors, interpolation helpers) are dropped;
* the run environment replaces base entries whole, or merges them key by key when the loader's
  ``merge_strategy`` says ``soft`` for the catalog.

It gives up (returns None, and the caller asks Kedro's loader for the whole catalog) wherever
it could not be exact: another config loader class, a catalog set on the loader by hand,
configuration that is not a local folder, an entry whose ``type`` or whole value is an
interpolation (``${...}``, also ``runtime_params`` and ``globals``), a top-level key that is
not text, a file whose top level is not a mapping, a key defined twice in one environment,
an entry that a soft merge would combine with a value that is not a mapping. Values other than
``type`` (file paths, credentials...) are neither read nor resolved: an interpolation error in
them shows when Kedro loads the catalog in the pods, not at compile. Credentials are never read.
"""

from __future__ import annotations

import mimetypes
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from kedro_airflow_k8s.errors import ConfigError

CATALOG_KEY = "catalog"
_SUFFIXES = (".yml", ".yaml", ".json")
_INTERPOLATION = "${"
_TYPE = "type"
_NODE_LIMIT_ENV = "OMEGACONF_MAX_YAML_EXPANDED_NODES"
_SHOWN_CHARACTERS = 40  # of a value an error message quotes
_SHOWN_REASON = 160  # characters of a constructor's error (float's repeats the whole value)


class _CannotReadExactly(Exception):
    """The fast path cannot give exactly what Kedro's loader gives: ask the loader."""


class _Unbuildable(Exception):
    """A scalar the loader resolves (or a tag declares) as an int, float or bool and cannot build:
    building the file whole would fail on it."""

    def __init__(self, event: Any, tag: str, explicit: bool, error: Exception) -> None:
        super().__init__(event.value)
        self.event, self.kind, self.explicit = event, tag.rpartition(":")[2], explicit
        self.error = error  # the constructor's, as building the file whole raises it


class _BuildFailed(Exception):
    """Building a file whole failed other than with a YAML error: the constructor's own error
    (an ``!!int`` without digits, a ``!!timestamp`` that is none, a key that cannot be hashed, a
    file nested past Python's recursion limit), which Kedro's loader fails with too."""

    def __init__(self, error: Exception) -> None:
        super().__init__(str(error))
        self.error = error


def read_catalog_types(loader: Any, project_path: Path | None = None) -> dict[str, Any] | None:
    """``{name: {"type": ...}}`` for every mapping entry of the catalog (other entries map to
    None), as Kedro's config loader ``loader`` would build it; None when only the loader itself
    can say. YAML that OmegaConf refuses is a :class:`ConfigError` naming the file (relative to
    ``project_path``)."""
    readable = _readable(loader)
    if readable is None:
        return None
    try:
        return _read(loader, *readable, project_path)
    except _CannotReadExactly:
        return None


def unreadable_catalog_file(loader: Any, project_path: Path | None = None) -> str | None:
    """After Kedro's loader failed on the catalog: the one-line message of the first catalog
    file (in the base, then the run environment) that OmegaConf's YAML loader cannot build, as
    :func:`read_catalog_types` words it (the file, and the line where it knows it), or None when
    every file builds or the files are not local ones this module reads. Kedro's loader reads
    every file before merging them, and passes a value's constructor error on without the file."""
    readable = _readable(loader)
    if readable is None:
        return None
    source, yaml_loader = readable
    patterns = loader.config_patterns[CATALOG_KEY]
    for env in _environments(loader):
        try:
            files = _config_files(source, env, patterns, loader.ignore_hidden)
        except _CannotReadExactly:
            continue
        for path in files:
            try:
                _load(path, yaml_loader, project_path)
            except ConfigError as error:
                return error.message
            except _CannotReadExactly:
                continue
    return None


def _readable(loader: Any) -> tuple[Path, Callable[[str], Any]] | None:
    """The local configuration folder of Kedro's own loader and OmegaConf's YAML loader, or None
    when only the loader itself can read the catalog."""
    from kedro.config import OmegaConfigLoader

    if type(loader) is not OmegaConfigLoader or CATALOG_KEY in loader.data:
        return None
    if CATALOG_KEY not in loader.config_patterns:
        return None
    source = str(loader.conf_source)
    if "://" in source or mimetypes.guess_type(source)[0] is not None:
        return None  # a remote or packed (tar, zip) configuration
    yaml_loader = _omegaconf_yaml_loader()
    if yaml_loader is None:
        return None
    return Path(source), yaml_loader


def _environments(loader: Any) -> list[str]:
    """The base environment, then the run one (``env``, else ``default_run_env``) if another."""
    base_env = loader.base_env
    run_env = loader.env or loader.default_run_env
    return [base_env] if run_env == base_env else [base_env, run_env]


def _read(
    loader: Any, source: Path, yaml_loader: Callable[[str], Any], project_path: Path | None
) -> dict[str, Any]:
    patterns = list(loader.config_patterns[CATALOG_KEY])
    per_env: list[dict[str, Any]] = []
    found_files = False
    for env in _environments(loader):
        files = _config_files(source, env, patterns, loader.ignore_hidden)
        found_files = found_files or bool(files)
        per_env.append(_merge_files(files, yaml_loader, project_path))
    if not found_files:
        return {}  # Kedro: no catalog files in base or the run environment
    merged = per_env[0]
    if len(per_env) > 1:
        soft = str((loader.merge_strategy or {}).get(CATALOG_KEY, "destructive")).lower()
        if soft == "soft":
            merged = _soft_merge(merged, per_env[1])
        elif soft == "destructive":
            merged.update(per_env[1])
        else:
            raise _CannotReadExactly  # Kedro refuses the strategy
    return merged


def _config_files(
    source: Path, env: str, patterns: Iterable[str], ignore_hidden: bool
) -> list[Path]:
    """The files Kedro's loader reads in ``source/env`` (sorted: Kedro's order is a set's)."""
    import fsspec

    folder = source / env
    if not folder.is_dir():
        raise _CannotReadExactly  # Kedro: MissingConfigException for the environment
    filesystem = fsspec.filesystem("file")
    root = source.resolve().as_posix()
    found: set[Path] = set()
    for pattern in patterns:
        for each in filesystem.glob(Path(f"{folder}/{pattern}").as_posix()):
            if ignore_hidden and _is_hidden(each, root):
                continue
            path = Path(each)
            if path.suffix in _SUFFIXES and path.is_file():
                found.add(path)
    return sorted(found)


def _is_hidden(path: str, root: str) -> bool:
    """Kedro's rule: a part of the path below the configuration folder starts with a dot."""
    posix = Path(path).resolve().as_posix()
    if posix.startswith(root):
        posix = posix.replace(root, "")
    return any(part.startswith(".") for part in posix.split("/"))


def _merge_files(
    files: Iterable[Path], yaml_loader: Callable[[str], Any], project_path: Path | None
) -> dict[str, Any]:
    """One environment's entries (``_`` keys dropped), each reduced to its type."""
    entries: dict[str, Any] = {}
    for path in files:
        for key, value in _load(path, yaml_loader, project_path).items():
            if not isinstance(key, str) or _INTERPOLATION in key:
                raise _CannotReadExactly  # OmegaConf keeps such keys; Kedro trips on them
            if key.startswith("_"):
                continue  # merged across files and dropped after interpolation: not read
            if key in entries:
                raise _CannotReadExactly  # Kedro: duplicate keys in one environment
            entries[key] = _reduced(value)
    return entries


def _reduced(value: Any) -> Any:
    """``{"type": ...}`` for a mapping entry, None for anything else (the plan skips those)."""
    if isinstance(value, Mapping):
        kind = value.get(_TYPE)
        if isinstance(kind, str) and _INTERPOLATION in kind:
            raise _CannotReadExactly
        return {_TYPE: kind} if _TYPE in value else {}
    if isinstance(value, str) and _INTERPOLATION in value:
        raise _CannotReadExactly  # the whole entry is an interpolation
    return None


def _soft_merge(base: dict[str, Any], env: Mapping[str, Any]) -> dict[str, Any]:
    for key, value in env.items():
        if key in base:
            if not isinstance(value, dict) or not isinstance(base[key], dict):
                raise _CannotReadExactly  # OmegaConf's merge of a mapping and a scalar
            base[key] = {**base[key], **value}
        else:
            base[key] = value
    return base


def _load(
    path: Path, yaml_loader: Callable[[str], Any], project_path: Path | None
) -> dict[Any, Any]:
    import yaml

    try:
        text = path.read_bytes().decode("utf8")
    except (OSError, UnicodeDecodeError):
        raise _CannotReadExactly from None  # Kedro's loader reports it
    try:
        loaded = yaml_loader(text)
    except yaml.YAMLError as error:
        raise ConfigError(_yaml_message(path, error, project_path)) from error
    except _Unbuildable as error:
        raise ConfigError(_unbuildable_message(path, error, project_path)) from None
    except _BuildFailed as failed:
        # a file built whole whose value the loader cannot build (OmegaConf's loader fails
        # with the constructor's own error, and Kedro with it)
        detail = f"{type(failed.error).__name__}: {failed.error}"
        raise ConfigError(f"{_shown(path, project_path)}: invalid YAML: {detail}") from None
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise _CannotReadExactly
    return loaded


def _shown(path: Path, project_path: Path | None) -> str:
    if project_path is not None:
        try:
            return path.resolve().relative_to(project_path.resolve()).as_posix()
        except ValueError:
            pass
    return path.as_posix()


def _yaml_message(path: Path, error: Exception, project_path: Path | None) -> str:
    where = _shown(path, project_path)
    problem = " ".join(str(getattr(error, "problem", None) or error).split())
    if "exceeds the configured limit" in problem or "YAML aliases expand" in problem:
        return (
            f"{where}: more YAML nodes than OmegaConf reads in one file ({problem.split('. ')[0]}"
            "), so Kedro cannot load it either: split it into several files (Kedro reads every "
            f"file under a catalog/ folder, e.g. {path.parent.name}/catalog/part_1.yml), or set "
            f"{_NODE_LIMIT_ENV} to a larger number here and in the pods' environment"
        )
    mark = getattr(error, "problem_mark", None)
    at = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
    return f"{where}: invalid YAML: {problem}{at}"


def _unbuildable_message(path: Path, error: _Unbuildable, project_path: Path | None) -> str:
    event = error.event
    mark, value = event.start_mark, event.value
    shown = repr(value if len(value) <= _SHOWN_CHARACTERS else value[:_SHOWN_CHARACTERS] + "...")
    # the constructor's reason, unless it only repeats the value (a bool's KeyError)
    reason = " ".join(str(error.error).split())
    if len(reason) > _SHOWN_REASON:
        reason = reason[:_SHOWN_REASON] + "..."
    why = "" if isinstance(error.error, KeyError) else ": " + reason
    at = f"(line {mark.line + 1}, column {mark.column + 1}{why})"
    where = _shown(path, project_path)
    if error.explicit:
        return f"{where}: invalid YAML: {shown} is tagged !!{error.kind} but is not one {at}"
    if event.tag != "!":
        fix = "quote it"
    elif not event.style:  # plain (None, or "" from the C parser): untagged, it fails the same
        fix = "quote it and drop the ! tag"
    else:
        fix = "drop the ! tag"
    return (
        f"{where}: invalid YAML: {shown} reads as a YAML {error.kind} but is not one {at}; "
        f"{fix} if it is text"
    )


def _omegaconf_yaml_loader() -> Callable[[str], Any] | None:
    """A catalog file's top level as OmegaConf's own YAML loader (the class ``OmegaConf.load``
    uses) builds it, each mapping entry reduced to its ``type`` (see :func:`_plain_entries`);
    or None. The node limit is read from the environment now, as the loader class is."""

    try:
        from omegaconf import _yaml
    except ImportError:  # OmegaConf 2.3: no node limit
        try:
            from omegaconf._utils import get_yaml_loader  # type: ignore[attr-defined]
        except ImportError:
            return None
        loader_class, limit = get_yaml_loader(), None
    else:
        if not hasattr(_yaml, "get_yaml_loader"):
            return None  # an OmegaConf whose loader this module does not know: Kedro's loader
        loader_class = _yaml.get_yaml_loader()
        try:
            limit = _yaml._resolve_max_yaml_expanded_nodes(_yaml._DEFAULT_MAX_YAML_EXPANDED_NODES)
        except AttributeError:  # the limit unknown: every file built whole
            return lambda text: _built_whole(text, loader_class)

    def load(text: str) -> Any:
        loader = loader_class(text)
        try:
            entries = _plain_entries(loader, limit)
        finally:
            loader.dispose()
        if entries is _NOT_PLAIN:
            return _built_whole(text, loader_class)
        return entries

    return load


def _built_whole(text: str, loader_class: Any) -> Any:
    """``text`` built as ``yaml.load`` with OmegaConf's loader (a safe one) builds it; an error
    of that build other than a YAML error as :class:`_BuildFailed` (an error of this module's
    own reading of the events is not one, and shows as the plugin's)."""
    import yaml

    try:
        return yaml.load(text, Loader=loader_class)
    except yaml.YAMLError:
        raise
    except Exception as error:
        raise _BuildFailed(error) from None


_TAG = "tag:yaml.org,2002:"
_STR, _MAP, _SEQ = (_TAG + name for name in ("str", "map", "seq"))
_BUILT = frozenset(_TAG + name for name in ("int", "float", "bool"))
_SCALAR_TAGS = frozenset((_STR, _TAG + "null", *_BUILT))
_NOT_PLAIN = object()
# Deeper files are built whole: building them recurses about once per level (OmegaConf's YAML
# loader, and PyYAML's own composer where OmegaConf's loader is the pure-Python one), so past some
# depth that build fails with RecursionError, which the events alone would not show.
_PLAIN_DEPTH = 64


def _plain_entries(loader: Any, limit: int | None) -> Any:
    """The top level of one YAML text, read from the events of ``loader`` (OmegaConf's loader
    class, just made for it), each mapping entry as ``{"type": ...}`` (``{}`` without one), a
    text entry as its text, any other entry None: what :func:`_reduced` makes of the values
    ``yaml.load`` builds; None for a text without a document. ``_NOT_PLAIN`` (the caller builds
    the text whole, as ``yaml.load`` does) unless the events show a plain file:

    * one document, a mapping at its top, with text keys; only scalars as keys anywhere;
    * no alias, and no anchor given twice (the composer refuses it);
    * only the str, int, float, bool and null tags on scalars, map on mappings and seq on
      sequences: no merge keys (``<<``), ``=`` keys, timestamps, sets, binary or custom tags;
    * no text key twice in one mapping (OmegaConf's loader refuses it);
    * every int, float and bool builds (an explicit ``!!int many`` does not, nor a plain
      ``0x_``, which the int resolver matches): one that does not raises :class:`_Unbuildable`,
      since building the file whole would fail on it;
    * an entry's ``type``, when it has one, is a scalar;
    * at most ``limit`` nodes (OmegaConf's expanded node limit; without aliases every node
      counts once);
    * nodes nested at most ``_PLAIN_DEPTH`` deep (building deeper ones recurses, and a file deep
      enough makes Python's recursion limit the loader's error).

    Building such a file whole could neither fail nor give other types, and of it the caller
    reads only the keys, types and text entries; any other text is built whole, with OmegaConf's
    own values and errors. Reading events composes no nodes, and a plain scalar whose first
    character starts none of the loader's implicit resolvers, or that resolved as text before in
    the same file, is text without asking them. A
    YAML error is raised at the event where composing the text would raise it."""
    import yaml

    get = loader.get_event
    get()  # the stream's start
    if isinstance(get(), yaml.StreamEndEvent):
        return None  # no document: yaml.load gives None
    if loader.yaml_path_resolvers:
        return _NOT_PLAIN  # tags that depend on the path of the node: composing tracks it
    scalar, ends = yaml.ScalarEvent, (yaml.MappingEndEvent, yaml.SequenceEndEvent)
    resolvers = loader.yaml_implicit_resolvers
    by_first_character = None not in resolvers  # no resolver for any first character
    resolved: dict[str, str] = {}  # plain scalar -> its tag (keys such as type repeat)
    anchors: set[str] = set()
    nodes = 0
    entries: dict[str, Any] = {}
    entry = ""  # the top-level key whose value is read
    # one frame per open node: a mapping's text keys and whether a key comes next, or None
    # for a sequence
    frames: list[list[Any] | None] = []
    of_type = False  # the next node is the value of an entry's type
    event = get()
    while True:
        if isinstance(event, ends):
            frames.pop()
            if not frames:
                break
            event = get()
            continue
        nodes += 1
        is_scalar = type(event) is scalar
        value: Any = event.value if is_scalar else None
        if (
            by_first_character
            and is_scalar
            and event.tag is None
            and event.anchor is None
            and (
                not event.implicit[0]
                or (value and (value[0] not in resolvers or resolved.get(value) == _STR))
            )
        ):
            tag = _STR  # quoted, plain and no resolver's first character, or known text
        else:
            checked = _checked(loader, event, anchors, resolved)
            if checked is None:
                return _NOT_PLAIN
            tag, value = checked
        if not frames:  # the document's top
            if tag != _MAP:
                return _NOT_PLAIN
            frames.append([set(), True])
            event = get()
            continue
        frame = frames[-1]
        if frame is not None and frame[1]:  # a key
            if type(event) is not scalar:
                return _NOT_PLAIN
            frame[1] = False
            if tag == _STR:
                if value in frame[0]:
                    return _NOT_PLAIN
                frame[0].add(value)
                if len(frames) == 1:
                    entry = value
                of_type = len(frames) == 2 and value == _TYPE
            elif len(frames) == 1:
                return _NOT_PLAIN  # a top-level key that is no text
            event = get()
            continue
        if frame is not None:
            frame[1] = True
        if of_type:
            if type(event) is not scalar:
                return _NOT_PLAIN  # a type that is no scalar: built whole
            entries[entry] = {_TYPE: value if tag in _BUILT or tag == _STR else None}
            of_type = False
        elif len(frames) == 1:  # an entry
            if tag == _MAP:
                entries[entry] = {}
            else:
                entries[entry] = value if tag == _STR else None
        if tag == _MAP:
            frames.append([set(), True])
        elif tag == _SEQ:
            frames.append(None)
        if len(frames) > _PLAIN_DEPTH:
            return _NOT_PLAIN
        event = get()
    if limit is not None and nodes > limit:
        return _NOT_PLAIN
    if not isinstance(get(), yaml.DocumentEndEvent) or not isinstance(get(), yaml.StreamEndEvent):
        return _NOT_PLAIN  # another document: the composer refuses it
    return entries


def _checked(
    loader: Any, event: Any, anchors: set[str], resolved: dict[str, str]
) -> tuple[str, Any] | None:
    """A node's tag as the composer gives it (the explicit one, else the loader's resolution;
    ``resolved``: the tags of plain scalars resolved so far) and, for a scalar, its value (built
    for an int, float or bool); None when the node cannot be in a plain file."""
    import yaml

    if isinstance(event, yaml.AliasEvent):
        return None
    if event.anchor is not None:
        if event.anchor in anchors:
            return None  # the composer refuses an anchor given twice
        anchors.add(event.anchor)
    tag = event.tag
    if isinstance(event, yaml.ScalarEvent):
        if tag is None and event.implicit[0]:  # plain: the tag depends on the text alone
            tag = resolved.get(event.value)
            if tag is None:
                tag = resolved[event.value] = loader.resolve(
                    yaml.ScalarNode, event.value, event.implicit
                )
        elif tag is None or tag == "!":
            tag = loader.resolve(yaml.ScalarNode, event.value, event.implicit)
        if tag not in _SCALAR_TAGS:
            return None
        if tag not in _BUILT:
            return tag, event.value
        node = yaml.ScalarNode(tag, event.value, event.start_mark, event.end_mark, event.style)
        try:
            return tag, loader.construct_object(node)
        except Exception as error:  # building the file whole fails on it
            raise _Unbuildable(event, tag, event.tag not in (None, "!"), error) from None
    if isinstance(event, yaml.MappingStartEvent):
        kind, expected = yaml.MappingNode, _MAP
    elif isinstance(event, yaml.SequenceStartEvent):
        kind, expected = yaml.SequenceNode, _SEQ
    else:
        return None
    if tag is None or tag == "!":
        tag = loader.resolve(kind, None, event.implicit)
    return (tag, None) if tag == expected else None
