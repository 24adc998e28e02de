"""Media arguments: images (paths, URLs, bytes, PIL) and video frames become message parts."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from PIL import Image as PILImage

from byllm.lib import ConfigurationError, Image, Model, Video, by
from fake_server import FakeLLMServer, openai_text


def png_bytes(color: tuple[int, int, int] = (255, 0, 0)) -> bytes:
    import io

    buffer = io.BytesIO()
    PILImage.new("RGB", (4, 4), color).save(buffer, format="PNG")
    return buffer.getvalue()


def decoded(part: dict) -> tuple[str, bytes]:
    header, _, data = part["image_url"]["url"].partition(",")
    return header, base64.b64decode(data)


def test_image_from_a_path_is_a_png_data_url(tmp_path: Path) -> None:
    path = tmp_path / "red.png"
    path.write_bytes(png_bytes())
    [part] = Image(path).__llm_parts__()
    assert part["type"] == "image_url"
    header, data = decoded(part)
    assert header == "data:image/png;base64"
    assert data == path.read_bytes()


def test_image_type_is_sniffed_from_bytes_not_the_file_name(tmp_path: Path) -> None:
    import io

    buffer = io.BytesIO()
    PILImage.new("RGB", (4, 4)).save(buffer, format="JPEG")
    path = tmp_path / "photo.png"  # a misleading suffix
    path.write_bytes(buffer.getvalue())
    assert Image(path).mime_type == "image/jpeg"
    assert Image(buffer.getvalue()).mime_type == "image/jpeg"


def test_pil_images_keep_their_format_or_become_png() -> None:
    fresh = PILImage.new("RGBA", (3, 3), (0, 255, 0, 128))
    image = Image(fresh)
    assert image.mime_type == "image/png"
    header, data = decoded(image.__llm_parts__()[0])
    assert PILImage.open(__import__("io").BytesIO(data)).size == (3, 3)
    loaded = PILImage.open(__import__("io").BytesIO(png_bytes()))
    assert Image(loaded).mime_type == "image/png"


def test_urls_are_passed_through_with_detail() -> None:
    image = Image("https://example.com/cat.jpg", detail="high")
    assert image.__llm_parts__() == [
        {"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg", "detail": "high"}}
    ]
    data_url = "data:image/gif;base64,R0lGODlhAQABAAAAACw="
    assert Image(data_url).mime_type == "image/gif"
    assert repr(image) == "Image('https://example.com/cat.jpg')"


def test_bad_images_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="cannot read"):
        Image(tmp_path / "missing.png")
    with pytest.raises(ConfigurationError, match="cannot tell the image type"):
        Image(b"definitely not an image")
    with pytest.raises(ConfigurationError, match="takes a path, URL, bytes or PIL image"):
        Image(42)  # type: ignore[arg-type]
    assert Image(b"raw pixels", mime_type="image/x-raw").mime_type == "image/x-raw"


def test_image_arguments_reach_the_server_as_content_parts(fake_server: FakeLLMServer) -> None:
    llm = Model("gpt-4o-mini", base_url=fake_server.openai_url, api_key="sk-media-1234567")

    @by(llm)
    def compare(first: Image, second: Image, question: str) -> str:
        """Answer a question about two pictures."""

    fake_server.script(openai_text("the first is red"))
    red, blue = Image(png_bytes()), Image(png_bytes((0, 0, 255)))
    assert compare(red, blue, "which is red?") == "the first is red"
    content = fake_server.requests[0].body["messages"][1]["content"]
    assert [part["type"] for part in content] == ["text", "image_url", "image_url"]
    assert "first = [attachment 1: image]" in content[0]["text"]
    assert "second = [attachment 2: image]" in content[0]["text"]
    assert decoded(content[2])[1] == blue.data


def write_video(path: Path, seconds: int, rate: int) -> None:
    av = pytest.importorskip("av")
    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=rate)
        stream.width, stream.height, stream.pix_fmt = 32, 32, "yuv420p"
        for index in range(seconds * rate):
            frame = av.VideoFrame.from_image(PILImage.new("RGB", (32, 32), (index * 10 % 256, 0, 0)))
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def test_video_is_sampled_into_jpeg_frames_at_the_requested_rate(tmp_path: Path) -> None:
    path = tmp_path / "clip.mp4"
    write_video(path, seconds=3, rate=5)
    parts = Video(path, fps=2).__llm_parts__()
    assert parts[0] == {"type": "text", "text": "Video clip.mp4: 6 frame(s) sampled at 2 per second, in order."}
    frames = parts[1:]
    assert len(frames) == 6
    assert all(decoded(part)[0] == "data:image/jpeg;base64" for part in frames)
    assert all(part["image_url"]["detail"] == "low" for part in frames)
    assert len(Video(path, fps=10, max_frames=4).frames()) == 4


def test_video_arguments_reach_the_server(tmp_path: Path, fake_server: FakeLLMServer) -> None:
    path = tmp_path / "clip.mp4"
    write_video(path, seconds=2, rate=4)
    llm = Model("gpt-4o-mini", base_url=fake_server.openai_url, api_key="sk-media-1234567")

    @by(llm)
    def describe(clip: Video) -> str:
        """Describe the clip."""

    fake_server.script(openai_text("a red fade"))
    assert describe(Video(path, fps=1)) == "a red fade"
    content = fake_server.requests[0].body["messages"][1]["content"]
    assert [part["type"] for part in content] == ["text", "text", "image_url", "image_url"]


def test_bad_videos_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="no such file"):
        Video(tmp_path / "missing.mp4")
    path = tmp_path / "empty.mp4"
    path.write_bytes(b"not a video")
    with pytest.raises(ConfigurationError, match="fps must be > 0"):
        Video(path, fps=0)
    pytest.importorskip("av")
    with pytest.raises(ConfigurationError, match="cannot decode"):
        Video(path).frames()
