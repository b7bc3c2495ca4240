"""``gramscope batch``: every image of a folder (or glob) in the same style, one job each."""

from __future__ import annotations

import glob
import os
from collections.abc import Sequence
from pathlib import Path

from ..errors import GramscopeError
from ..options import StyleOptions
from .executors import Backend, Summary, execute
from .jobs import ImageJob

#: Files a folder argument contributes; a glob contributes whatever it matches.
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff", ".gif")


def collect_contents(spec: str | os.PathLike[str]) -> list[Path]:
    """The content images named by a folder or a glob pattern, sorted.

    A folder gives its image files (not its subfolders, not hidden files); a pattern gives
    every file it matches, so that a broken file is reported rather than silently left out.
    """
    path = Path(spec)
    if path.is_dir():
        files = [p for p in path.iterdir()
                 if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
                 and not p.name.startswith(".")]
    else:
        files = [Path(p) for p in glob.glob(str(spec), recursive=True) if Path(p).is_file()]
    if not files:
        raise GramscopeError(f"no images found in {spec}")
    return sorted(files)


def output_names(files: Sequence[Path]) -> list[str]:
    """``photo.jpg`` -> ``photo.png``; names that would collide keep their folder and suffix."""
    stems = [f.stem for f in files]
    if len(set(stems)) == len(stems):
        return [f"{stem}.png" for stem in stems]
    root = Path(os.path.commonpath([f.resolve().parent for f in files]))
    names = []
    for f, stem in zip(files, stems, strict=True):
        if stems.count(stem) == 1:
            names.append(f"{stem}.png")
        else:
            relative = f.resolve().relative_to(root)
            names.append("_".join(relative.parts).replace(".", "_") + ".png")
    return names


def plan_batch(
    contents: Sequence[Path], styles: Sequence[Path], options: StyleOptions, out_dir: Path
) -> list[ImageJob]:
    """One job per content image, writing ``out_dir/<name>.png``."""
    jobs = []
    for content, name in zip(contents, output_names(contents), strict=True):
        output = out_dir / name
        if output.resolve() == content.resolve():
            raise GramscopeError(f"the output for {content} would replace it; choose another -o")
        jobs.append(ImageJob(content, tuple(styles), options, output, label=str(content)))
    return jobs


def run_batch(
    contents: str | os.PathLike[str] | Sequence[Path],
    styles: Sequence[Path],
    options: StyleOptions,
    out_dir: Path,
    backend: Backend,
    *,
    overwrite: bool = False,
    progress: bool = True,
) -> Summary:
    """Stylise every content image after ``styles`` into ``out_dir``, on an entered backend.

    Style images are checked first: a bad style spoils every job, so it stops the batch;
    a bad content image fails only its own job.
    """
    from ..image import load_image

    files = (list(contents) if isinstance(contents, list | tuple)
             else collect_contents(contents))  # type: ignore[arg-type]
    # A recursive glob may reach into OUT_DIR: results are never inputs of the next run.
    files = [f for f in files if out_dir.resolve() not in f.resolve().parents]
    for style in styles:
        load_image(style)
    out_dir.mkdir(parents=True, exist_ok=True)
    jobs = plan_batch(files, styles, options, out_dir)
    return execute(jobs, backend, overwrite=overwrite, progress=progress)
