"""What the coach says, in Simplified Chinese and English.

Hints say what to DO (short imperatives a small seller can follow while holding the card), not
only what is wrong. `text(key, lang)` for hints and UI lines, `check_name(id, lang)` for the
checklist.
"""

from __future__ import annotations

from typing import Literal

Lang = Literal["zh", "en"]
LANGS: tuple[str, ...] = ("zh", "en")

# key -> (zh, en)
MESSAGES: dict[str, tuple[str, str]] = {
    # hints (rules.py message keys)
    "low_resolution": ("这个摄像头分辨率太低：请用手机当摄像头（见 README）",
                       "This camera is too low-resolution: use your phone as the camera (see README)"),
    "too_dark": ("太暗了：面向窗户，或在你前面开一盏灯",
                 "Too dark: face a window or turn on a light in front of you"),
    "too_bright": ("太亮了：避开直射的阳光或强光",
                   "Too bright: move out of direct sunlight or strong light"),
    "no_face": ("正对镜头，让整张脸都在画面里", "Look at the camera with your whole face in the picture"),
    "one_face_only": ("画面里只能有你一个人", "Only you should be in the picture"),
    "face_cut_off": ("把整张脸移到画面中间", "Move so your whole face is inside the picture"),
    "hold_still": ("保持不动", "Hold still"),
    "backlit": ("别背对光源：转身让光照在你脸上", "Turn so the light is in front of you, not behind you"),
    "card_over_face": ("把身份证放低一点，不要挡住脸", "Lower the card so it does not cover your face"),
    "show_card": ("把身份证拿到镜头前", "Hold your ID card up to the camera"),
    "card_cut_off": ("让身份证的四个角都在画面里", "Bring the whole card into the picture, all four corners"),
    "card_too_big": ("把身份证拿远一点", "Move the card farther from the camera"),
    "card_too_small": ("把身份证拿近一点", "Move the card closer to the camera"),
    "card_blurry": ("拿稳身份证，等镜头对好焦", "Hold the card still and let the camera focus on it"),
    "glare": ("稍微倾斜身份证，去掉反光", "Tilt the card a little to remove the reflection"),
    "card_tilted": ("把身份证摆正，正对镜头", "Hold the card flat, facing the camera"),
    "fingers_on_card": ("捏住身份证边缘，手指不要挡住文字",
                        "Hold the card by its edges; keep fingers off the text"),
    "both_hands": ("用双手拿住身份证", "Hold the card with both hands"),
    "show_arms": ("往后退一点，让拿证的双臂都露出来", "Step back so both forearms holding the card are in the picture"),
    "show_shoulders": ("往后退一点，让肩膀和上半身都在画面里",
                       "Step back so your shoulders and chest are in the picture"),
    "remove_card": ("把身份证放下：这张只拍你本人", "Put the card away: this photo shows only you"),
    "retry": ("保持不动，再试一次", "Hold still and try again"),
    # UI lines
    "all_pass": ("全部通过：这张照片可以用", "All checks pass: this photo is ready"),
    "some_fail": ("没有通过", "Not ready yet"),
    "next_step": ("下一步", "Next"),
    "cannot_judge": ("无法判断", "cannot judge"),
    "summary": ("{passed}/{total} 张照片通过", "{passed}/{total} photos pass"),
    "skipped": ("跳过了 {n} 个不是图片的文件", "skipped {n} file(s) that are not images"),
    "col_check": ("检查项", "Check"),
    "col_value": ("测量值", "Value"),
    "col_limit": ("要求", "Limit"),
}

# check id -> (zh, en)
CHECK_NAMES: dict[str, tuple[str, str]] = {
    "resolution": ("分辨率", "Resolution"),
    "exposure": ("亮度", "Exposure"),
    "face_visible": ("脸部完整", "Face visible"),
    "face_sharp": ("脸部清晰", "Face sharp"),
    "backlight": ("不逆光", "No backlight"),
    "face_uncovered": ("脸未被遮挡", "Face uncovered"),
    "card_present": ("有证件", "Card present"),
    "card_in_frame": ("证件完整入镜", "Card in frame"),
    "card_size": ("证件大小", "Card size"),
    "card_fill": ("证件占满画面", "Card fills frame"),
    "card_sharp": ("证件文字清晰", "Card sharp"),
    "glare": ("无反光", "No glare"),
    "card_facing": ("证件正对镜头", "Card facing camera"),
    "card_unoccluded": ("手指未挡字", "Text not covered"),
    "hands_on_card": ("双手持证", "Both hands on card"),
    "arms_visible": ("手臂露出", "Arms visible"),
    "shoulders_visible": ("露出肩膀", "Shoulders visible"),
    "no_card": ("不拿证件", "No card"),
}


def _pick(pair: tuple[str, str], lang: str) -> str:
    return pair[0] if lang == "zh" else pair[1]


def text(key: str, lang: str = "en", **fmt: object) -> str:
    """The message for `key` in `lang` ("zh" or "en"); "" for the empty key (a passed check)."""
    if not key:
        return ""
    try:
        s = _pick(MESSAGES[key], lang)
    except KeyError:
        raise KeyError(f"no message for key {key!r}") from None
    return s.format(**fmt) if fmt else s


def check_name(check_id: str, lang: str = "en") -> str:
    try:
        return _pick(CHECK_NAMES[check_id], lang)
    except KeyError:
        raise KeyError(f"no display name for check {check_id!r}") from None
