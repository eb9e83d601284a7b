"""Where the book is: the folder holding ``_toc.yml`` and ``book/``, found from the current directory.

The package may be installed anywhere (site-packages, a ``--target`` folder, an editable checkout), so
the book is never looked for next to the package's own files: a reader runs the pipeline from inside a
checkout of the book, or names the folder.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["BookNotFoundError", "is_book_root", "find_root", "book_folder"]

#: What marks the top folder of the book (the Jupyter Book table of contents and the chapter folder).
MARKERS = ("_toc.yml", "book")


class BookNotFoundError(FileNotFoundError):
    """No book where it was looked for (the message says where and what to pass instead)."""


def is_book_root(path: str | os.PathLike) -> bool:
    """Whether ``path`` is the top folder of a book: it holds ``_toc.yml`` and a ``book/`` folder."""
    path = Path(path)
    return (path / "_toc.yml").is_file() and (path / "book").is_dir()


def find_root(start: str | os.PathLike | None = None, *, required: bool = True) -> Path | None:
    """The book's top folder: ``start`` (default: the current directory) or the nearest folder above it
    that holds ``_toc.yml`` and ``book/``.

    Parameters
    ----------
    start : path, optional
        Where to begin looking; the current working directory by default.
    required : bool
        If False, return None instead of raising when there is no book.

    Raises
    ------
    FileNotFoundError
        ``BookNotFoundError``, if neither ``start`` nor any folder above it is a book's top folder (and ``required``).
    """
    here = Path(os.getcwd() if start is None else start).expanduser().resolve()
    for folder in (here, *here.parents):
        if is_book_root(folder):
            return folder
    if not required:
        return None
    raise BookNotFoundError(
        f"no book found in {here} or any folder above it (the book's top folder holds _toc.yml and book/); "
        "run the command from inside a checkout of qsnn-book, or pass --book with the folder of the "
        "chapter notebooks"
    )


def book_folder(book: str | os.PathLike | None = None) -> Path:
    """The folder of the chapter notebooks.

    ``book`` may name that folder itself or the book's top folder (then its ``book/`` is used); None
    finds the top folder from the current directory (:func:`find_root`).

    Raises
    ------
    BookNotFoundError
        If ``book`` is not a folder or holds no book (neither ``_toc.yml`` and ``book/`` nor chapter
        notebooks), or (for None) no book is found from the current directory.
    """
    if book is None:
        return find_root() / "book"
    path = Path(book).expanduser().resolve()
    if not path.is_dir():
        raise BookNotFoundError(f"book folder {path} does not exist; pass --book with the folder that holds "
                                "the chapter notebooks (or the book's top folder)")
    if is_book_root(path):
        return path / "book"
    if not any(path.glob("[0-9]*.ipynb")):
        raise BookNotFoundError(f"{path} is not a book: it holds neither _toc.yml and book/ nor chapter notebooks "
                                "(NN_name.ipynb); pass --book with the repository's folder or its book/ folder")
    return path
