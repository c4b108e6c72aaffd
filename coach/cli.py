"""The `coach` command line. Each command is a thin shell around a module that does the work;
every user-fixable problem arrives here as a CoachError and leaves as one line and an exit code."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from coach import __version__
from coach.errors import CoachError

LANGS = click.Choice(["zh", "en"])
PROFILES = click.Choice(["hand-held", "half-body", "card"])


def default_lang() -> str:
    """Chinese when the user's locale is Chinese, else English."""
    for var in ("COACH_LANG", "LC_ALL", "LC_MESSAGES", "LANG"):
        val = os.environ.get(var, "")
        if val:
            return "zh" if val.lower().startswith("zh") else "en"
    return "en"


models_option = click.option(
    "--models",
    "models_dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Folder with the MediaPipe models (else $COACH_MODELS, else the user cache).",
)


@click.group(invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--source", "-s", default="0", show_default=True,
              help="Camera index, stream URL (http://PHONE:8080/video), video file, image folder or recording.")
@click.option("--profile", "-p", type=PROFILES, default="hand-held", show_default=True)
@click.option("--lang", type=LANGS, default=None, help="zh or en (default: from the locale).")
@click.option("--out", "out_dir", type=click.Path(path_type=Path, file_okay=False), default=Path("captures"),
              show_default=True, help="Where captures are saved.")
@click.option("--fps", type=float, default=30.0, show_default=True, help="Frame rate of image folders.")
@click.option("--mirror/--no-mirror", default=None, help="Mirror the preview (default: on for local cameras).")
@models_option
@click.version_option(__version__, prog_name="coach")
@click.pass_context
def cli(ctx: click.Context, source: str, profile: str, lang: str | None, out_dir: Path, fps: float,
        mirror: bool | None, models_dir: Path | None) -> None:
    """Coach a hand-held ID photo (手持身份证照) from a camera or a phone stream."""
    if ctx.invoked_subcommand is not None:
        return
    from coach.tui.app import run_app

    ctx.exit(run_app(source=source, profile=profile, lang=lang or default_lang(), out_dir=out_dir,
                     fps=fps, mirror=mirror, models_dir=models_dir))


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--profile", "-p", type=PROFILES, default="hand-held", show_default=True)
@click.option("--profiles-file", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="A TOML file overriding the built-in thresholds.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per image per line.")
@click.option("--lang", type=LANGS, default=None)
@models_option
def check(paths: tuple[Path, ...], profile: str, profiles_file: Path | None, as_json: bool, lang: str | None,
          models_dir: Path | None) -> None:
    """Judge photo files (or folders of them) against the rules. Exit 0 all pass, 1 some fail, 2 bad input."""
    from coach.check_cmd import run_check

    sys.exit(run_check(list(paths), profile=profile, profiles_file=profiles_file, as_json=as_json,
                       lang=lang or default_lang(), models_dir=models_dir))


@cli.command()
@models_option
def models(models_dir: Path | None) -> None:
    """Show where each MediaPipe model is and whether it verifies (downloads missing ones)."""
    from coach.models import run_models_command

    sys.exit(run_models_command(models_dir))


@cli.command(name="eval")
@click.option("--frames", "frames_dir", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Folder with labels.csv (default: $COACH_FRAMES).")
@click.option("--synthetic", "n_synthetic", type=int, default=300, show_default=True,
              help="How many synthetic scenes to judge (0: none).")
@click.option("--seed", type=int, default=1, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@click.option("--fast", is_flag=True, help="Judge with the live engine's fast path (models on a thread pool).")
@models_option
def evaluate(frames_dir: Path | None, n_synthetic: int, seed: int, as_json: bool, fast: bool,
             models_dir: Path | None) -> None:
    """Agreement of every check with human labels and with synthetic scenes."""
    from coach.evaluate import run_eval

    sys.exit(run_eval(frames_dir=frames_dir, n_synthetic=n_synthetic, seed=seed, as_json=as_json,
                      models_dir=models_dir, fast=fast))


@cli.command()
@click.argument("source")
@click.option("--headless", is_flag=True, help="No screen: one JSON event per line on stdout.")
@click.option("--out", "out_dir", type=click.Path(path_type=Path, file_okay=False), default=Path("captures"),
              show_default=True)
@click.option("--fast", is_flag=True, help="As fast as the engine goes (same decisions as real time).")
@click.option("--max-seconds", type=float, default=None, help="Stop after this many seconds of source time.")
@click.option("--profile", "-p", type=PROFILES, default="hand-held", show_default=True)
@click.option("--fps", type=float, default=30.0, show_default=True, help="Frame rate of image folders.")
@click.option("--lang", type=LANGS, default=None)
@models_option
def replay(source: str, headless: bool, out_dir: Path, fast: bool, max_seconds: float | None, profile: str,
           fps: float, lang: str | None, models_dir: Path | None) -> None:
    """Play a recording, image folder, video or URL through the coach."""
    lang = lang or default_lang()
    if headless:
        from coach.replay import run_headless

        sys.exit(run_headless(source, out_dir=out_dir, fast=fast, max_seconds=max_seconds, profile=profile,
                              fps=fps, lang=lang, models_dir=models_dir))
    from coach.tui.app import run_app

    sys.exit(run_app(source=source, profile=profile, lang=lang, out_dir=out_dir, fps=fps, mirror=False,
                     models_dir=models_dir, fast=fast, max_seconds=max_seconds))


@cli.command()
@click.option("--max-index", type=int, default=10, show_default=True)
def cameras(max_index: int) -> None:
    """List the local cameras and the resolutions they give."""
    from coach.sources.camera import run_cameras_command

    sys.exit(run_cameras_command(max_index))


@cli.command()
@click.option("--frames", "frames_dir", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Replay these images instead of generated scenes.")
@click.option("--seconds", type=float, default=10.0, show_default=True, help="Seconds per resolution.")
@click.option("--json", "as_json", is_flag=True)
@models_option
def bench(frames_dir: Path | None, seconds: float, as_json: bool, models_dir: Path | None) -> None:
    """Measure analysed fps, stage times, latency, start-up and memory against the naive pipeline."""
    from coach.bench import run_bench

    sys.exit(run_bench(frames_dir=frames_dir, seconds=seconds, as_json=as_json, models_dir=models_dir))


def main(argv: list[str] | None = None) -> int:
    """Entry point: one clear line and a non-zero exit for every user-fixable problem, never a traceback."""
    try:
        cli.main(args=argv, prog_name="coach", standalone_mode=False)
    except CoachError as err:
        click.echo(f"coach: {err}", err=True)
        return err.code
    except click.exceptions.Abort:
        click.echo("coach: interrupted", err=True)
        return 130
    except click.exceptions.Exit as ex:
        return ex.exit_code
    except click.ClickException as err:
        click.echo(f"coach: {err.format_message()} (see coach --help)", err=True)
        return 2
    except KeyboardInterrupt:
        click.echo("coach: interrupted", err=True)
        return 130
    except SystemExit as ex:
        return ex.code if isinstance(ex.code, int) else (0 if ex.code is None else 1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
