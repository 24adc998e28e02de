"""Media arguments: ``Image`` and ``Video`` become multimodal message parts.

Any argument with a ``__llm_parts__()`` method contributes OpenAI-style content
parts to the user message (providers convert them to their own format). Images
are sent as ``data:`` URLs with their MIME type, or as web URLs untouched. Video
frames are sampled with PyAV, an optional extra (``pip install "jaclang[video]"``).
"""

from __future__ import annotations

import base64
import io
import mimetypes
import os
from pathlib import Path
from typing import Any

from byllm.errors import ConfigurationError

IMAGE_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"BM", "image/bmp"),
)
PIL_FORMATS = {"PNG": "image/png", "JPEG": "image/jpeg", "GIF": "image/gif", "WEBP": "image/webp"}


def sniff_image_type(data: bytes) -> str | None:
    """The MIME type of encoded image bytes, from their signature."""
    for signature, mime_type in IMAGE_SIGNATURES:
        if data.startswith(signature):
            return mime_type
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def _is_pil_image(value: Any) -> bool:
    # Checked by module name so PIL is never imported just to look at an argument.
    return any(cls.__module__.startswith("PIL.") and cls.__name__ == "Image" for cls in type(value).__mro__)


def _encode_pil(image: Any) -> tuple[bytes, str]:
    """A PIL image as bytes in its own format when models accept it, else PNG."""
    format_name = image.format if image.format in PIL_FORMATS else "PNG"
    if format_name == "JPEG" and image.mode not in ("RGB", "L"):
        image = image.convert("RGB")
    buffer = io.BytesIO()
    image.save(buffer, format=format_name)
    return buffer.getvalue(), PIL_FORMATS[format_name]


class Image:
    """An image argument: a file path, ``http(s)``/``data:`` URL, encoded bytes or a PIL image.

    ``mime_type`` overrides detection; ``detail`` (``"low"``, ``"high"``, ``"auto"``)
    is passed to providers that support it.
    """

    def __init__(self, source: str | os.PathLike[str] | bytes | Any, *, mime_type: str | None = None,
                 detail: str | None = None) -> None:
        self.detail = detail
        self.url: str | None = None
        self.data: bytes | None = None
        self.path: Path | None = None
        if isinstance(source, str) and source.startswith(("http://", "https://", "data:")):
            self.url = source
            self.mime_type = mime_type or (source[5:].split(";")[0] if source.startswith("data:") else None)
            return
        if isinstance(source, (bytes, bytearray, memoryview)):
            self.data = bytes(source)
            self.mime_type = mime_type or sniff_image_type(self.data)
        elif isinstance(source, (str, os.PathLike)):
            self.path = Path(source)
            try:
                self.data = self.path.read_bytes()
            except OSError as error:
                raise ConfigurationError(f"Image: cannot read {str(self.path)!r}: {error.strerror or error}") from None
            self.mime_type = mime_type or sniff_image_type(self.data) or mimetypes.guess_type(self.path.name)[0]
        elif _is_pil_image(source):
            self.data, detected = _encode_pil(source)
            self.mime_type = mime_type or detected
        else:
            raise ConfigurationError(
                f"Image takes a path, URL, bytes or PIL image, got {type(source).__name__}"
            )
        if not self.mime_type or not self.mime_type.startswith("image/"):
            where = f" {str(self.path)!r}" if self.path else ""
            raise ConfigurationError(
                f"Image{where}: cannot tell the image type ({self.mime_type or 'unknown'}); "
                "pass mime_type='image/png' (or the right type)"
            )

    def data_url(self) -> str:
        """The image as a URL: the web URL given, or a ``data:`` URL of its bytes."""
        if self.url is not None:
            return self.url
        assert self.data is not None
        return f"data:{self.mime_type};base64,{base64.b64encode(self.data).decode()}"

    def __llm_parts__(self) -> list[dict[str, Any]]:
        """One ``image_url`` content part."""
        image_url: dict[str, Any] = {"url": self.data_url()}
        if self.detail:
            image_url["detail"] = self.detail
        return [{"type": "image_url", "image_url": image_url}]

    def __repr__(self) -> str:
        if self.url is not None and not self.url.startswith("data:"):
            return f"Image({self.url!r})"
        origin = f"{str(self.path)!r}, " if self.path else ""
        size = len(self.data) if self.data is not None else len(self.url or "")
        return f"Image({origin}mime_type={self.mime_type!r}, {size} bytes)"


class Video:
    """A video file argument, sent as frames sampled at ``fps`` (at most ``max_frames``).

    Frames are decoded with PyAV when the call is built; install the extra with
    ``pip install "jaclang[video]"``.
    """

    def __init__(self, path: str | os.PathLike[str], *, fps: float = 1.0, max_frames: int = 32,
                 detail: str | None = "low") -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise ConfigurationError(f"Video: no such file {str(self.path)!r}")
        if fps <= 0 or max_frames < 1:
            raise ConfigurationError(f"Video: fps must be > 0 and max_frames >= 1 (got fps={fps}, max_frames={max_frames})")
        self.fps = float(fps)
        self.max_frames = int(max_frames)
        self.detail = detail
        self._frames: list[Image] | None = None

    def frames(self) -> list[Image]:
        """The sampled frames as JPEG images (decoded once, then reused)."""
        if self._frames is None:
            self._frames = [Image(_jpeg(frame), mime_type="image/jpeg", detail=self.detail)
                            for frame in sample_frames(self.path, self.fps, self.max_frames)]
        return self._frames

    def __llm_parts__(self) -> list[dict[str, Any]]:
        """A text part naming the video, then one image part per sampled frame."""
        frames = self.frames()
        parts: list[dict[str, Any]] = [{
            "type": "text",
            "text": f"Video {self.path.name}: {len(frames)} frame(s) sampled at {self.fps:g} per second, in order.",
        }]
        for frame in frames:
            parts.extend(frame.__llm_parts__())
        return parts

    def __repr__(self) -> str:
        return f"Video({str(self.path)!r}, fps={self.fps:g})"


def sample_frames(path: Path, fps: float, max_frames: int) -> list[Any]:
    """PIL images of the frames at ``0, 1/fps, 2/fps, ...`` seconds (PyAV)."""
    try:
        import av
    except ImportError:
        raise ConfigurationError(
            'Video needs PyAV: install the extra with pip install "jaclang[video]"'
        ) from None
    frames: list[Any] = []
    step = 1.0 / fps
    next_time = 0.0
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise ConfigurationError(f"Video: {str(path)!r} has no video stream")
            stream = container.streams.video[0]
            rate = float(stream.average_rate or 25)
            for index, frame in enumerate(container.decode(stream)):
                moment = frame.time if frame.time is not None else index / rate
                if moment + 1e-6 < next_time:
                    continue
                frames.append(frame.to_image())
                next_time += step
                while next_time <= moment:  # a frame gap longer than one step
                    next_time += step
                if len(frames) >= max_frames:
                    break
    except av.FFmpegError as error:
        raise ConfigurationError(f"Video: cannot decode {str(path)!r}: {error}") from None
    return frames


def _jpeg(image: Any) -> bytes:
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, format="JPEG", quality=85)
    return buffer.getvalue()
