"""Least privilege for server folders (explainers_team.roots): what is read, what is refused and why."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from explainers.errors import ParameterError
from explainers_team.roots import (
    ENV_DATA_DIR,
    ENV_ROOTS,
    PathNotAllowedError,
    RootsConfigError,
    data_dir,
    data_roots,
    is_under_roots,
    resolve_under_roots,
    sample_dir,
)


@pytest.fixture
def tree(tmp_path):
    """root/ (photos/a.png, photos/in_link -> photos/a.png, out_link -> ../outside, out_file -> outside/secret.png)
    and outside/ (secret.png) next to it."""
    root, outside = tmp_path / "root", tmp_path / "outside"
    (root / "photos").mkdir(parents=True)
    outside.mkdir()
    (root / "photos" / "a.png").write_bytes(b"png")
    (outside / "secret.png").write_bytes(b"secret")
    (root / "photos" / "in_link.png").symlink_to(root / "photos" / "a.png")
    (root / "out_link").symlink_to(outside, target_is_directory=True)
    (root / "photos" / "out_file.png").symlink_to(outside / "secret.png")
    return root.resolve(), outside.resolve()


def test_paths_inside_a_root_resolve(tree):
    root, _ = tree
    assert resolve_under_roots(root, roots=[root]) == root
    assert resolve_under_roots(root / "photos", roots=[root]) == root / "photos"
    assert resolve_under_roots(f"  {root / 'photos' / 'a.png'}  ", roots=[root]) == root / "photos" / "a.png"
    # Relative: under the first root where it exists.
    assert resolve_under_roots("photos", roots=[root]) == root / "photos"
    assert resolve_under_roots(Path("photos") / "a.png", roots=["/nonexistent-root", root]) == root / "photos" / "a.png"
    # A link that stays inside is followed.
    assert resolve_under_roots(root / "photos" / "in_link.png", roots=[root]) == root / "photos" / "a.png"
    # Not existing yet is not this function's business (the caller says "does not exist").
    assert resolve_under_roots(root / "new", roots=[root]) == root / "new"


@pytest.mark.parametrize("text", ["../outside", "photos/../../outside", "photos/..", "{root}/photos/../photos"])
def test_dot_dot_is_refused_even_when_it_would_stay_inside(tree, text):
    root, _ = tree
    with pytest.raises(PathNotAllowedError, match=r"'\.\.' is not allowed") as error:
        resolve_under_roots(text.format(root=root), roots=[root])
    assert f"allowed: {root}" in str(error.value)


@pytest.mark.parametrize("elsewhere", ["/etc", "/etc/passwd", "/", "~", "{outside}", "{outside}/secret.png"])
def test_absolute_paths_elsewhere_are_refused_with_what_is_allowed(tree, elsewhere):
    root, outside = tree
    with pytest.raises(PathNotAllowedError, match="is outside the folders this server may read") as error:
        resolve_under_roots(elsewhere.format(outside=outside), roots=[root])
    message = str(error.value)
    assert f"allowed: {root}" in message and ENV_ROOTS in message


def test_a_sibling_with_the_same_prefix_is_not_inside(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data-private").mkdir()
    with pytest.raises(PathNotAllowedError, match="outside"):
        resolve_under_roots(tmp_path / "data-private", roots=[tmp_path / "data"])


@pytest.mark.parametrize("link", ["out_link", "out_link/secret.png", "photos/out_file.png"])
def test_symlinks_that_lead_out_are_refused(tree, link):
    root, _ = tree
    for text in (link, str(root / link)):  # relative and absolute
        with pytest.raises(PathNotAllowedError, match="symbolic link that leads outside") as error:
            resolve_under_roots(text, roots=[root])
        assert "secret" not in str(error.value).replace(link, "")  # the link's target is not revealed


def test_a_root_that_is_itself_a_link_works(tree, tmp_path):
    root, _ = tree
    alias = tmp_path / "alias"
    alias.symlink_to(root, target_is_directory=True)
    assert resolve_under_roots(alias / "photos", roots=[alias]) == root / "photos"
    with pytest.raises(PathNotAllowedError, match="symbolic link"):
        resolve_under_roots(alias / "out_link", roots=[alias])


def test_globs_resolve_their_folder_and_keep_the_pattern(tree):
    root, outside = tree
    assert resolve_under_roots(root / "photos" / "*.png", roots=[root]) == root / "photos" / "*.png"
    assert resolve_under_roots("photos/*.png", roots=[root]) == root / "photos" / "*.png"
    assert resolve_under_roots("*", roots=[root]) == root / "*"
    with pytest.raises(PathNotAllowedError, match="outside"):
        resolve_under_roots(f"{outside}/*.png", roots=[root])
    with pytest.raises(PathNotAllowedError, match="symbolic link"):
        resolve_under_roots("out_link/*.png", roots=[root])
    with pytest.raises(PathNotAllowedError, match=r"'\.\.'"):
        resolve_under_roots("photos/*/../../*.png", roots=[root])


def test_empty_path_and_no_roots(tree):
    root, _ = tree
    with pytest.raises(ParameterError, match="type the path of a folder"):
        resolve_under_roots("   ", roots=[root])
    with pytest.raises(PathNotAllowedError, match="reads no folder .*upload the photos instead"):
        resolve_under_roots(root, roots=[])


def test_is_under_roots(tree):
    root, outside = tree
    assert is_under_roots(root / "photos", roots=[root])
    assert not is_under_roots(outside, roots=[root])
    assert not is_under_roots(root / "out_link", roots=[root])
    assert not is_under_roots("", roots=[root])


def test_roots_from_the_environment(tree, tmp_path, monkeypatch):
    root, outside = tree
    env = {ENV_ROOTS: f"{root}{os.pathsep} {outside} {os.pathsep}{os.pathsep}{root}"}
    assert data_roots(env) == (root, outside)
    assert data_roots({ENV_ROOTS: ""}) == ()
    with pytest.raises(RootsConfigError, match="'relative/dir' is not an absolute path"):
        data_roots({ENV_ROOTS: f"{root}{os.pathsep}relative/dir"})
    # Read at each call: a server (or a test) may change it without a restart.
    monkeypatch.setenv(ENV_ROOTS, str(outside))
    assert resolve_under_roots(outside / "secret.png") == outside / "secret.png"
    with pytest.raises(PathNotAllowedError, match=f"allowed: {outside}"):
        resolve_under_roots(root)


def test_default_roots_are_the_data_folder_and_the_bundled_samples(tmp_path):
    env = {ENV_DATA_DIR: str(tmp_path / "data")}
    assert data_roots(env) == ((tmp_path / "data").resolve(), sample_dir().resolve())
    assert (sample_dir() / "chelsea.png").is_file()
    assert resolve_under_roots(sample_dir() / "chelsea.png", roots=data_roots(env)) == (
        sample_dir() / "chelsea.png").resolve()


def test_data_dir_is_the_stores_one(tmp_path):
    """One data folder: the store's database and photos live where the roots say the server may read."""
    assert data_dir({ENV_DATA_DIR: str(tmp_path)}) == tmp_path
    assert data_dir({}) == Path.cwd() / "data"


def test_evaluate_folder_box_reads_only_under_the_roots(tree, monkeypatch):
    from ui.views import evaluate as batch

    root, outside = tree
    (root / "photos" / "labels.csv").write_text("file,class_index\na.png,1\n")
    (outside / "labels.csv").write_text("file,class_index\nsecret.png,1\n")
    monkeypatch.setenv(ENV_ROOTS, str(root))
    with pytest.raises(PathNotAllowedError, match="outside the folders"):
        batch.folder_photos(str(outside), 5)
    with pytest.raises(PathNotAllowedError, match=r"'\.\.' is not allowed"):
        batch.folder_photos(f"{root}/photos/../../outside", 5)
    with pytest.raises(PathNotAllowedError, match="symbolic link"):
        batch.folder_photos(str(root / "out_link"), 5)
    # An allowed folder holding a link that leads out: that file is left out, by name, and never read.
    listing = batch.folder_photos(str(root / "photos"), 5)
    assert listing.refused == ["out_file.png"] and "out_file.png" not in [p.name for p in listing.photos]
    (root / "photos" / "out_file.png").unlink()
    assert [p.name for p in batch.folder_photos("photos", 5).photos] == ["a.png", "a.png"]  # a.png, its inside link
    # A refused path never tells whether it exists.
    with pytest.raises(PathNotAllowedError):
        batch.folder_photos(str(outside / "no-such-folder"), 5)
    # labels.csv only from an allowed folder.
    assert batch.labels_file(str(root / "photos")) == root / "photos" / "labels.csv"
    assert batch.labels_file(str(outside)) is None
    assert batch.labels_file(str(root / "out_link")) is None


def test_evaluate_suggests_the_sample_folder_only_when_it_is_allowed(monkeypatch, tmp_path):
    from ui.views import evaluate as batch

    monkeypatch.setenv(batch.SAMPLE_ENV, str(tmp_path))
    monkeypatch.setenv(ENV_ROOTS, str(tmp_path))
    assert batch.default_folder() == str(tmp_path)
    monkeypatch.setenv(ENV_ROOTS, str(sample_dir()))
    assert batch.default_folder() == ""
