"""Translate's ``TranslateText``, answered offline by Apertium (rule-based, GPL).

Apertium is only ever run as an external program (a subprocess a call), never linked or
imported. ``scripts/install_apertium.sh`` (``make apertium``) unpacks Debian's ``apertium``
and ``apertium-eng-spa`` packages into ``.local/apertium`` without root; the provider looks,
in order, in ``$AIGW_APERTIUM_HOME``, in ``.local/apertium`` of the project (its source tree,
then the working directory) and for an ``apertium`` on ``PATH`` (a system install, data in
``/usr/share/apertium``). The language pairs are the installed modes (``eng-spa.mode`` is
English to Spanish).

- ``SourceLanguageCode`` ``auto``: the language is detected as the local
  ``DetectDominantLanguage`` does (langdetect).
- A pair without an installed mode (English to German, say) is an
  ``UnsupportedLanguagePairException`` naming the pairs that are installed: no offline model
  exists for it. Without Apertium, every pair is, with a message saying how to install it.
- Limits and shape follow Translate's: at most 10,000 bytes of UTF-8 text
  (``TextSizeLimitExceededException``); the answer has ``TranslatedText``,
  ``SourceLanguageCode`` and ``TargetLanguageCode``. Custom terminologies do not exist
  locally (``ResourceNotFoundException``); ``Settings`` (formality, profanity, brevity) are
  not applied, so the answer has no ``AppliedSettings``.
- Unknown words are passed through without Apertium's ``*`` marks (``apertium -u``).

Each call runs its own ``apertium`` process (about 0.5 s), so calls are independent and
thread-safe.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aigw.local.services.providers import ServiceError
from aigw.providers import text

if TYPE_CHECKING:
    from aigw.local.services.providers import ProviderRegistry

Params = dict[str, Any]

MAX_TEXT_BYTES = 10_000
TIMEOUT_S = 30.0
PROJECT_ROOT = Path(__file__).resolve().parents[3]
LOCAL_PREFIX = Path(".local") / "apertium"
INSTALL_HINT = "run `make apertium` (or scripts/install_apertium.sh) to install Apertium"
#: Apertium's ISO 639-3 codes -> Translate's language codes.
LANGUAGE_CODES = {
    "eng": "en",
    "spa": "es",
    "cat": "ca",
    "fra": "fr",
    "por": "pt",
    "ita": "it",
    "glg": "gl",
    "ron": "ro",
    "eus": "eu",
    "deu": "de",
    "nld": "nl",
    "swe": "sv",
    "dan": "da",
    "nob": "no",
    "pol": "pl",
    "ces": "cs",
    "rus": "ru",
    "ukr": "uk",
    "ara": "ar",
    "tur": "tr",
}


@dataclass(frozen=True)
class Apertium:
    """An Apertium installation: the program, its data and the pairs it has modes for."""

    program: Path
    data_dir: Path
    env: tuple[tuple[str, str], ...]
    #: (source, target) in Translate's codes -> the mode's name.
    modes: tuple[tuple[tuple[str, str], str], ...]

    @property
    def pairs(self) -> dict[tuple[str, str], str]:
        return dict(self.modes)

    def describe_pairs(self) -> str:
        return ", ".join(f"{source}->{target}" for source, target in sorted(self.pairs))

    def translate(self, text: str, mode: str) -> str:
        try:
            done = subprocess.run(
                [str(self.program), "-u", "-d", str(self.data_dir), mode],
                input=text.encode("utf-8"),
                capture_output=True,
                env={**os.environ, **dict(self.env)},
                timeout=TIMEOUT_S,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise ServiceError(
                "InternalServerException",
                f"Apertium took longer than {TIMEOUT_S:g} s",
            ) from None
        if done.returncode != 0:
            raise ServiceError(
                "InternalServerException",
                "Apertium failed: " + done.stderr.decode("utf-8", "replace").strip()[-500:],
            )
        return done.stdout.decode("utf-8")


def _prefix_install(prefix: Path) -> Apertium | None:
    usr = prefix / "usr"
    program = usr / "bin" / "apertium"
    data_dir = usr / "share" / "apertium"
    if not program.is_file() or not (data_dir / "modes").is_dir():
        return None
    libraries = [str(path) for path in sorted((usr / "lib").glob("*-linux-gnu*"))]
    libraries.append(os.environ.get("LD_LIBRARY_PATH", ""))
    env = (
        ("PATH", f"{usr / 'bin'}{os.pathsep}{os.environ.get('PATH', os.defpath)}"),
        ("LD_LIBRARY_PATH", os.pathsep.join(part for part in libraries if part)),
    )
    return Apertium(program, data_dir, env, _modes(data_dir))


def _modes(data_dir: Path) -> tuple[tuple[tuple[str, str], str], ...]:
    modes: list[tuple[tuple[str, str], str]] = []
    for mode in sorted((data_dir / "modes").glob("*.mode")):
        source, _, target = mode.stem.partition("-")
        # Variants (spa-eng_US) and debug modes (eng-spa-tagger) are not pairs of their own.
        if source in LANGUAGE_CODES and target in LANGUAGE_CODES:
            modes.append(((LANGUAGE_CODES[source], LANGUAGE_CODES[target]), mode.stem))
    return tuple(modes)


def find_apertium() -> Apertium | None:
    """The first installation found (see the module's docstring), or None."""
    prefixes = []
    if os.environ.get("AIGW_APERTIUM_HOME"):
        prefixes.append(Path(os.environ["AIGW_APERTIUM_HOME"]))
    prefixes += [PROJECT_ROOT / LOCAL_PREFIX, Path.cwd() / LOCAL_PREFIX]
    for prefix in prefixes:
        found = _prefix_install(prefix)
        if found is not None:
            return found
    program = shutil.which("apertium")
    data_dir = Path("/usr/share/apertium")
    if program and (data_dir / "modes").is_dir():
        return Apertium(Path(program), data_dir, (), _modes(data_dir))
    return None


_FIND_LOCK = threading.Lock()
_FOUND: list[Apertium] = []


def _installed() -> Apertium | None:
    """The installation, looked for until found (so installing it needs no restart)."""
    with _FIND_LOCK:
        if not _FOUND:
            found = find_apertium()
            if found is not None:
                _FOUND.append(found)
        return _FOUND[0] if _FOUND else None


def _detect_language(source_text: str) -> str:
    languages = text.detect_dominant_language({"Text": source_text})["Languages"]
    best = languages[0]
    if best["Score"] < 0.5:
        raise ServiceError(
            "DetectedLanguageLowConfidenceException",
            f"the language of the text could not be detected with confidence "
            f"(best guess {best['LanguageCode']!r}, score {best['Score']})",
        )
    return str(best["LanguageCode"])


def translate_text(params: Params) -> Params:
    source_text: str = params["Text"]
    size = len(source_text.encode("utf-8"))
    if size > MAX_TEXT_BYTES:
        raise ServiceError(
            "TextSizeLimitExceededException",
            f"Input text size exceeds limit. Max length of request text allowed is "
            f"{MAX_TEXT_BYTES} bytes while in this request the text size is {size} bytes",
        )
    if params.get("TerminologyNames"):
        names = ", ".join(params["TerminologyNames"])
        raise ServiceError(
            "ResourceNotFoundException", f"no custom terminology exists locally: {names}"
        )
    source, target = params["SourceLanguageCode"], params["TargetLanguageCode"]
    if source == "auto":
        source = _detect_language(source_text)
    answer = {"SourceLanguageCode": source, "TargetLanguageCode": target}
    if source == target:
        return {"TranslatedText": source_text, **answer}
    apertium = _installed()
    if apertium is None:
        raise ServiceError(
            "UnsupportedLanguagePairException",
            f"no offline translation from {source!r} to {target!r}: Apertium is not installed "
            f"locally; {INSTALL_HINT} (English<->Spanish)",
        )
    mode = apertium.pairs.get((source, target))
    if mode is None:
        raise ServiceError(
            "UnsupportedLanguagePairException",
            f"no offline model exists for {source!r} to {target!r}; the pairs installed "
            f"locally (Apertium) are {apertium.describe_pairs() or 'none'}",
        )
    return {"TranslatedText": apertium.translate(source_text, mode), **answer}


def install(registry: ProviderRegistry) -> None:
    registry.register("translate", "TranslateText", translate_text)
