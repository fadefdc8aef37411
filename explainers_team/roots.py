"""Least privilege for server folders: a path typed in the dashboard is read only under configured roots.

A team server must not read whatever its process can read because someone typed ``/etc`` or
``../../home`` in the Batch page's folder box. Every server path a user gives goes through
:func:`resolve_under_roots`, which refuses, with a message that lists what is allowed:

* a ``..`` component anywhere in the path (even one that would stay inside a root: the rule is
  simple to state and to audit);
* an absolute path that is not inside one of the roots;
* a symbolic link (the path itself, or any folder on the way) that leads out of the roots: the
  path is resolved first (``os.path.realpath``), then checked.

The roots (:func:`data_roots`) come from ``EXPLAINERS_DATA_ROOTS``, a list of absolute folders
separated by ``os.pathsep`` (``:`` on Linux and macOS). When it is not set, they are the data
folder (:func:`data_dir`: ``EXPLAINERS_DATA_DIR``, by default ``data/`` in the repository)
and the sample photos bundled with scikit-image
(:func:`sample_dir`). Set to an empty string, it allows no server folder at all (uploads only).
The environment is read at each call, so a test or a server can change it without a restart.

Examples
--------
>>> import os, tempfile
>>> root = tempfile.mkdtemp()
>>> os.makedirs(os.path.join(root, "photos"))
>>> resolve_under_roots("photos", roots=[root]) == Path(root, "photos").resolve()
True
>>> resolve_under_roots("/etc", roots=[root])
Traceback (most recent call last):
...
explainers_team.roots.PathNotAllowedError: '/etc' is outside the folders this server may read...
"""

from __future__ import annotations

import dataclasses
import glob
import os
from collections.abc import Iterable, Mapping
from pathlib import Path

from explainers.errors import ExplainersError, ParameterError
from explainers.images import IMAGE_SUFFIXES, image_files

from .settings import ENV_DATA_DIR, data_dir  # noqa: F401  (the one data folder: the store's)

#: Environment variable of the allowed roots (``os.pathsep``-separated).
ENV_ROOTS = "EXPLAINERS_DATA_ROOTS"
_GLOB_CHARS = "*?["
#: Longest path, and longest name of one folder or file in it (bytes), a user may type (the file system's
#: limits: longer input is refused with a message instead of an operating-system error).
MAX_PATH_CHARS = 4096
MAX_NAME_BYTES = 255
#: Most photos :func:`server_photos` lists.
MAX_LISTED = 10_000


class PathNotAllowedError(ExplainersError, PermissionError):
    """A server path is outside the allowed roots (or climbs with ``..``); the message lists the roots."""


class RootsConfigError(ExplainersError, ValueError):
    """``EXPLAINERS_DATA_ROOTS`` is malformed (a relative entry); the message names the entry."""


def sample_dir() -> Path:
    """The folder of the sample photos bundled with scikit-image (``skimage.data``)."""
    import skimage.data

    return Path(skimage.data.data_dir)


def _configured_roots(environ: Mapping[str, str]) -> list[Path]:
    """The roots as configured (absolute, links not followed); see :func:`data_roots`."""
    if ENV_ROOTS not in environ:
        return [Path(os.path.abspath(data_dir(environ))), Path(os.path.abspath(sample_dir()))]
    entries = [e.strip() for e in environ[ENV_ROOTS].split(os.pathsep) if e.strip()]
    for entry in entries:
        if not Path(entry).expanduser().is_absolute():
            raise RootsConfigError(
                f"{ENV_ROOTS} entry {entry!r} is not an absolute path; list absolute folders separated by "
                f"{os.pathsep!r}, e.g. /srv/photos{os.pathsep}/data/shared"
            )
    return [Path(os.path.abspath(Path(e).expanduser())) for e in entries]


def _resolved(roots: Iterable[Path]) -> tuple[Path, ...]:
    unique: list[Path] = []
    for root in roots:
        real = Path(os.path.realpath(root))
        if real not in unique:
            unique.append(real)
    return tuple(unique)


def data_roots(environ: Mapping[str, str] | None = None) -> tuple[Path, ...]:
    """The folders under which server paths may be read, resolved (symbolic links followed).

    Parameters
    ----------
    environ : mapping, optional
        The environment to read (``os.environ`` by default): ``EXPLAINERS_DATA_ROOTS``, else the
        defaults described in the module docstring.

    Returns
    -------
    tuple of Path
        Absolute, resolved folders, without duplicates; empty when ``EXPLAINERS_DATA_ROOTS`` is
        set to an empty string. A root need not exist yet (the data folder is created on first use).

    Raises
    ------
    RootsConfigError
        An entry of ``EXPLAINERS_DATA_ROOTS`` is not an absolute path.
    """
    return _resolved(_configured_roots(os.environ if environ is None else environ))


def _describe(roots: tuple[Path, ...]) -> str:
    if not roots:
        return (
            f"this server reads no folder ({ENV_ROOTS} is empty): upload the photos instead, or ask the "
            f"operator to list folders in {ENV_ROOTS}"
        )
    return (
        f"allowed: {', '.join(str(r) for r in roots)} (and the folders inside them); the operator sets "
        f"them with {ENV_ROOTS}"
    )


def _inside(path: Path, roots: tuple[Path, ...]) -> bool:
    return any(path == root or path.is_relative_to(root) for root in roots)


def is_under_roots(path: str | os.PathLike, roots: Iterable[str | os.PathLike] | None = None) -> bool:
    """Whether :func:`resolve_under_roots` accepts ``path`` (never raises for a refused path)."""
    try:
        resolve_under_roots(path, roots)
    except (PathNotAllowedError, ParameterError):
        return False
    return True


def resolve_under_roots(path: str | os.PathLike, roots: Iterable[str | os.PathLike] | None = None) -> Path:
    """The real location of a server path typed by a user, if it lies under an allowed root.

    Parameters
    ----------
    path : str or PathLike
        A folder, a file, or a glob pattern (``/data/photos/*.jpg``): absolute, ``~``-relative, or
        relative to a root (the first root where it exists, else the first root).
    roots : iterable of path, optional
        The allowed folders; :func:`data_roots` by default.

    Returns
    -------
    Path
        The resolved path (symbolic links followed). For a glob, the resolved folder before the
        first wildcard joined with the rest of the pattern: each match must be checked again
        (a matched file may itself be a link that leads out).

    Raises
    ------
    ParameterError
        The path is empty.
    PathNotAllowedError
        It contains ``..``, is outside every root, or is (or goes through) a symbolic link that
        leads out of them. The message lists the allowed roots.
    RootsConfigError
        ``EXPLAINERS_DATA_ROOTS`` is malformed (only when ``roots`` is not given).

    Notes
    -----
    Existence is not required: the caller says "does not exist" for a path that is allowed but
    absent (only after this check, so a refused path never reveals whether it exists).
    """
    written = (
        _configured_roots(os.environ) if roots is None else [Path(os.path.abspath(Path(r).expanduser())) for r in roots]
    )
    root_list = _resolved(written)
    text = str(path).strip()
    if not text:
        raise ParameterError(f"type the path of a folder on the server; {_describe(root_list)}")
    if "\x00" in text:
        raise ParameterError("the path contains a null character; type the folder's path as text")
    if len(text) > MAX_PATH_CHARS or any(
        len(part.encode("utf-8", "replace")) > MAX_NAME_BYTES for part in Path(text).parts
    ):
        raise ParameterError(
            f"the path is too long (at most {MAX_PATH_CHARS} characters, {MAX_NAME_BYTES} bytes "
            "per folder or file name); check what was typed"
        )
    given = Path(text).expanduser()
    if ".." in given.parts:
        raise PathNotAllowedError(
            f"'..' is not allowed in a server path ({text!r}); give the folder itself, {_describe(root_list)}"
        )
    if not root_list:
        raise PathNotAllowedError(f"{text!r} cannot be read: {_describe(root_list)}")
    parts = given.parts
    wild = next((i for i, part in enumerate(parts) if any(c in part for c in _GLOB_CHARS)), len(parts))
    head, pattern = Path(*parts[:wild]) if wild else Path(), parts[wild:]
    if given.is_absolute():
        candidates = [head]
    else:
        candidates = [root / head for root in root_list]
        candidates = [c for c in candidates if os.path.lexists(c)][:1] or candidates[:1]
    candidate = candidates[0]
    if len(os.path.abspath(candidate)) > MAX_PATH_CHARS:  # the root's own path counts too
        raise ParameterError(
            f"the path is too long once joined to its root (at most {MAX_PATH_CHARS} characters); check what was typed"
        )
    resolved = Path(os.path.realpath(candidate))
    if not _inside(resolved, root_list):
        lexical = Path(os.path.abspath(candidate))
        # Against the roots as written too: a root may itself be a link (e.g. /data -> /mnt/data).
        if _inside(lexical, root_list) or _inside(lexical, tuple(written)):
            raise PathNotAllowedError(
                f"{text!r} is, or goes through, a symbolic link that leads outside the "
                f"folders this server may read; {_describe(root_list)}"
            )
        raise PathNotAllowedError(f"{text!r} is outside the folders this server may read; {_describe(root_list)}")
    return resolved.joinpath(*pattern) if pattern else resolved


@dataclasses.dataclass(frozen=True)
class Listing:
    """The photos a server folder (or glob) holds, each checked under the roots.

    Attributes
    ----------
    photos : list of Path
        Resolved paths under the roots, sorted by name, at most the ``limit`` asked for.
    refused : list of str
        Names of the files that were left out because they lead outside the roots (a symbolic link):
        only their names, never anything read from them.
    """

    photos: list[Path]
    refused: list[str]


def server_photos(text: str, limit: int = MAX_LISTED, roots: Iterable[str | os.PathLike] | None = None) -> Listing:
    """The one listing of photos in a server folder: the folder checked, then every file in it.

    Parameters
    ----------
    text : str
        A folder (its image files, not sub-folders) or a glob (``/data/photos/*.jpg``), as a user typed it.
    limit : int
        At most this many photos (the first by name), >= 1.
    roots : iterable of path, optional
        The allowed folders; :func:`data_roots` by default.

    Returns
    -------
    Listing

    Raises
    ------
    ParameterError
        Empty, too long or odd path, a limit below 1, a path that does not exist, or no image file in it.
    PathNotAllowedError
        The folder is outside the roots (see :func:`resolve_under_roots`).
    """
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ParameterError(f"the number of photos must be an int >= 1, got {limit!r}")
    path = resolve_under_roots(text, roots)
    typed = str(text).strip()
    try:
        if any(c in typed for c in _GLOB_CHARS):
            candidates = sorted(
                (Path(p) for p in glob.glob(str(path)) if Path(p).suffix.lower() in IMAGE_SUFFIXES),
                key=lambda p: p.name,
            )
        elif path.is_dir():
            candidates = image_files(path)
        elif path.is_file():
            candidates = [path]
        else:
            raise ParameterError(
                f"'{typed}' does not exist on the server; type the path of a folder of photos "
                "(absolute, or relative to an allowed folder)"
            )
    except OSError as exc:
        raise ParameterError(f"'{typed}' cannot be read ({exc.strerror or exc}); check the folder") from None
    photos, refused = [], []
    for candidate in candidates:
        try:
            photos.append(resolve_under_roots(candidate, roots))
        except (PathNotAllowedError, ParameterError):
            refused.append(candidate.name)
            continue
        if len(photos) == limit:
            break
    if not photos:
        refused_text = f" ({len(refused)} file(s) lead outside the allowed folders)" if refused else ""
        raise ParameterError(f"no image files in '{typed}' (files ending in {', '.join(IMAGE_SUFFIXES)}){refused_text}")
    return Listing(photos, refused)
