"""The screen's own words (zh/en). What the person must fix comes from the session's hint
(coach.checks.messages); these are only the frame around it: keys, status, help."""

from __future__ import annotations

UI: dict[str, dict[str, str]] = {
    "zh": {
        "checklist": "检查项",
        "profile.hand-held": "手持身份证照",
        "profile.half-body": "半身照",
        "profile.card": "证件正面",
        "waiting_frame": "等待画面…",
        "waiting_checks": "正在检查…",
        "connecting": "正在连接视频源…",
        "looking": "正在分析画面…",
        "all_pass": "全部通过 — 请保持不动",
        "saved": "已保存：{path}",
        "again": "按 Enter 再拍一张，或按 空格 立即拍照",
        "auto_off": "自动拍照已关闭 — 按 空格 拍照，按 A 开启",
        "manual_offer": "一直没有拍到？按 空格 直接拍照",
        "ended": "视频源已结束 — 按 Q 退出",
        "reconnecting": "正在重新连接…",
        "fault": "视频源故障：{fault}",
        "error": "错误：{error}",
        "rec": "● 录制中 {path}",
        "auto_on": "自动拍照：开",
        "auto_off_short": "自动拍照：关",
        "mirror": "镜像",
        "analysed": "分析 {fps:.1f} fps",
        "preview": "预览 {fps:.1f} fps",
        "captures": "已拍 {n} 张",
        "engine_stopped": "分析已停止：{error}",
        "skipped": "跳过 {n} 个损坏的帧",
        "help_title": "帮助",
    },
    "en": {
        "checklist": "Checks",
        "profile.hand-held": "hand-held ID photo",
        "profile.half-body": "half-body photo",
        "profile.card": "card only",
        "waiting_frame": "waiting for a frame…",
        "waiting_checks": "checking…",
        "connecting": "connecting to the source…",
        "looking": "analysing the picture…",
        "all_pass": "All checks pass — hold still",
        "saved": "saved: {path}",
        "again": "Press Enter for another one, or Space to capture now",
        "auto_off": "Auto-capture is off — Space to capture, A to turn it on",
        "manual_offer": "Nothing captured yet? Press Space to capture anyway",
        "ended": "The source has ended — press Q to quit",
        "reconnecting": "reconnecting…",
        "fault": "source fault: {fault}",
        "error": "error: {error}",
        "rec": "● REC {path}",
        "auto_on": "auto: on",
        "auto_off_short": "auto: off",
        "mirror": "mirrored",
        "analysed": "analysed {fps:.1f} fps",
        "preview": "preview {fps:.1f} fps",
        "captures": "{n} captured",
        "engine_stopped": "analysis stopped: {error}",
        "skipped": "{n} corrupt frame(s) skipped",
        "help_title": "Help",
    },
}

# Footer labels, per action
KEYS: dict[str, dict[str, str]] = {
    "zh": {"capture": "拍照", "auto": "自动", "again": "再拍", "record": "录制", "mirror": "镜像",
           "profile": "模式", "lang": "English", "overlays": "标记", "quit": "退出", "help": "帮助"},
    "en": {"capture": "Capture", "auto": "Auto", "again": "Again", "record": "Record", "mirror": "Mirror",
           "profile": "Profile", "lang": "中文", "overlays": "Overlays", "quit": "Quit", "help": "Help"},
}

HELP: dict[str, str] = {
    "zh": """\
[b]手持身份证照 拍摄助手[/b]

面对镜头，用手拿住证件放在下巴下方，证件正面朝向镜头，
不要用手指挡住文字和照片。右侧清单全部为 ✓ 并保持约 0.7 秒后，
会自动保存最清晰的一帧（原始画面，不是预览，也不会被镜像）。

[b]按键[/b]
  空格  立即拍照（无论检查是否通过；报告会列出未通过的项）
  Enter 拍完后再拍一张（重新开启自动拍照）
  A     自动拍照 开/关
  R     录制 开/关（保存到 recordings/，可用 coach replay 回放）
  M     预览镜像（只影响显示）
  P     切换模式：手持身份证照 / 半身照 / 证件正面
  L     切换语言 中文 / English
  O     显示/隐藏 标记（证件框、人脸框、手部点、放置证件的参考框）
  Q     退出
  ?     显示本帮助

[dim]按 Esc 或 ? 关闭[/dim]""",
    "en": """\
[b]Hand-held ID photo coach[/b]

Face the camera and hold the card under your chin, its front towards the camera,
without covering its text or photo with your fingers. When every check on the right
shows ✓ for about 0.7 s, the sharpest frame is saved (the original frame, never the
preview, never mirrored).

[b]Keys[/b]
  Space  capture now (whatever the checks say; the report lists what failed)
  Enter  after a capture: take another one (re-arms auto-capture)
  A      auto-capture on/off
  R      record on/off (into recordings/, replay it with coach replay)
  M      mirror the preview (display only)
  P      profile: hand-held / half-body / card
  L      language 中文 / English
  O      overlays on/off (card quad, face box, hand points, guide where the card goes)
  Q      quit
  ?      this help

[dim]Esc or ? closes it[/dim]""",
}


def ui(key: str, lang: str, **kw) -> str:
    table = UI.get(lang, UI["en"])
    s = table.get(key, UI["en"].get(key, key))
    return s.format(**kw) if kw else s


def profile_label(profile: str, lang: str) -> str:
    return ui(f"profile.{profile}", lang)
