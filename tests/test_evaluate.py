"""coach eval: the label -> expectation mapping, agreement tallies and corner statistics on
hand-built verdicts; one small end-to-end run on a few real photos."""

from __future__ import annotations

import json

import pytest

from coach import evaluate as ev
from coach.errors import CoachError
from coach.types import CheckResult, Verdict


def _verdict(**passed) -> Verdict:
    return Verdict(profile="hand-held",
                   results=[CheckResult(id=k, passed=v, value=None, limit=None, message="") for k, v in passed.items()])


def test_tally_counts_null_as_disagreement():
    pairs = [("a", "glare", True, True), ("b", "glare", False, True), ("c", "glare", None, True),
             ("a", "card_size", False, False)]
    t = ev.tally(pairs)
    assert t["glare"].n == 3 and t["glare"].agree == 1 and t["glare"].null == 1
    assert t["glare"].agreement == pytest.approx(1 / 3)
    assert t["glare"].disagree == ["b (got fail, want pass)", "c (got null, want pass)"]
    assert t["card_size"].agreement == 1.0
    assert json.loads(json.dumps(t["glare"].to_json()))["agreement"] == pytest.approx(0.3333)


def test_compare_skips_checks_outside_the_profile():
    v = _verdict(card_size=False, glare=None)
    got = ev.compare("x.jpg", v, {"card_size": False, "glare": True, "shoulders_visible": True})
    assert got == [("x.jpg", "card_size", False, False), ("x.jpg", "glare", None, True)]


def _row(**kw):
    base = {"file": "f.jpg", "face_visible": "y", "card_present": "y", "card_fully_in_frame": "y",
            "card_area_frac": "0.1", "hands_visible": "2", "arms_visible": "y", "sharp": "y", "well_lit": "y",
            "glare_on_card": "n", "fingers_over_card_text": "n", "notes": ""}
    base.update(kw)
    return base


def test_real_label_mapping():
    e = ev.expected_from_row(_row(), ev.REAL_MAP)
    assert e == {"face_visible": True, "exposure": True, "card_present": True, "card_in_frame": True,
                 "card_size": True, "card_sharp": True, "glare": True, "card_unoccluded": True,
                 "hands_on_card": True, "arms_visible": True}  # face_sharp: `sharp` is about the card here
    e = ev.expected_from_row(_row(card_area_frac="0.6", glare_on_card="y", fingers_over_card_text="y",
                                  hands_visible="1", card_fully_in_frame="n"), ev.REAL_MAP)
    assert e["card_size"] is False and e["glare"] is False and e["card_unoccluded"] is False
    assert e["hands_on_card"] is False and e["card_in_frame"] is False
    # card_size has two limits: a card under 3 % of the frame is too small to read; eyeballed
    # areas near that limit say nothing
    assert ev.expected_from_row(_row(card_area_frac="0.01"), ev.REAL_MAP)["card_size"] is False
    assert "card_size" not in ev.expected_from_row(_row(card_area_frac="0.025"), ev.REAL_MAP)
    assert ev.expected_from_row(_row(card_area_frac="0.05"), ev.REAL_MAP)["card_size"] is True
    # a face visible, but two of them (the check asks for exactly one)
    assert ev.expected_from_row(_row(notes="Two children, close-up faces (two faces)"), ev.REAL_MAP)[
        "face_visible"] is False
    assert ev.expected_from_row(_row(face_visible="n", notes="(two faces)"), ev.REAL_MAP)["face_visible"] is False
    # two hands visible, but the notes say the card is held in one
    for note in ("Woman holds up a badge with one hand and points at it with the other",
                 "one of the two visible hands is the other person's reaching for the card"):
        assert ev.expected_from_row(_row(notes=note), ev.REAL_MAP)["hands_on_card"] is False
    # no card: card checks are not judged, `sharp` speaks for the face
    e = ev.expected_from_row(_row(card_present="n", card_fully_in_frame="na", card_area_frac="na",
                                  glare_on_card="na", fingers_over_card_text="na", sharp="n"), ev.REAL_MAP)
    assert e == {"face_visible": True, "face_sharp": False, "exposure": True, "card_present": False}
    # blank card: fingers over text is `na`
    assert "card_unoccluded" not in ev.expected_from_row(_row(fingers_over_card_text="na"), ev.REAL_MAP)


def test_people_label_mapping():
    row = {"faces": "1", "lighting": "backlit", "half_body": "y", "notes": ""}
    assert ev.expected_from_row(row, ev.PEOPLE_MAP) == {"face_visible": True, "backlight": False,
                                                        "shoulders_visible": True, "no_card": True}
    row = {"faces": "2", "lighting": "dim", "half_body": "n", "notes": "HOLDING CARDS: ..."}
    assert ev.expected_from_row(row, ev.PEOPLE_MAP) == {"face_visible": False, "exposure": False,
                                                        "backlight": True, "shoulders_visible": False}
    assert "exposure" not in ev.expected_from_row({"faces": "1", "lighting": "harsh"}, ev.PEOPLE_MAP)


def test_corner_statistics():
    true = [(0, 0), (100, 0), (100, 60), (0, 60)]
    s = ev.CornerStats()
    s.add(true, [(1, 0), (101, 0), (101, 60), (1, 60)])  # 1 px off, order as found
    s.add(true, [(100, 60), (0, 60), (0, 0), (100, 0)])  # same corners listed from another start
    s.add(true, None)  # missed
    j = s.to_json()
    assert j["scenes_with_card"] == 3 and j["found"] == 2
    assert j["mean_corner_error_px"] == pytest.approx(0.5)
    assert j["iou_ge_095_of_found"] == 1.0 and j["iou_ge_095_of_all"] == pytest.approx(0.6667)
    assert j["within_3px_of_found"] == 1.0
    s.add(true, [(0, 0), (50, 0), (50, 60), (0, 60)])  # half the card: IoU 0.5
    assert s.to_json()["iou_ge_095_of_found"] == pytest.approx(2 / 3, abs=1e-4)


def test_missing_labels_is_one_clear_error(tmp_path, monkeypatch):
    monkeypatch.delenv("COACH_FRAMES", raising=False)
    with pytest.raises(CoachError):
        ev.run_eval(None, 0, 1, True, None)
    with pytest.raises(CoachError, match="labels.csv"):
        ev.run_eval(tmp_path, 0, 1, True, None)


def test_run_eval_end_to_end_on_a_few_photos(frames_dir, models_dir, tmp_path, capsys):
    """A labels.csv with three real photos (linked, not copied) and 2 synthetic scenes."""
    import csv

    rows = list(csv.DictReader((frames_dir / "labels.csv").open(newline="", encoding="utf-8")))
    keep = [r for r in rows if r["file"] in ("hold_id_01.jpg", "portrait_01.jpg", "neg_dark_01.jpg")]
    with (tmp_path / "labels.csv").open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(keep)
    for r in keep:
        (tmp_path / r["file"]).symlink_to(frames_dir / r["file"])
    for p in frames_dir.glob("spec_id_0[12].jpg"):
        (tmp_path / p.name).symlink_to(p)
    (tmp_path / "people").mkdir()
    people = list(csv.DictReader((frames_dir / "people" / "labels.csv").open(newline="", encoding="utf-8")))
    keep_p = [r for r in people if r["file"] == "person_21.jpg"]
    with (tmp_path / "people" / "labels.csv").open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=list(people[0]))
        w.writeheader()
        w.writerows(keep_p)
    (tmp_path / "people" / "person_21.jpg").symlink_to(frames_dir / "people" / "person_21.jpg")

    assert ev.run_eval(tmp_path, 2, 1, True, models_dir) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["real"]["face_visible"]["n"] == 4  # 3 photos + 1 person
    assert out["real"]["exposure"]["n"] == 4
    assert out["synthetic"]["n"] == 2 and out["synthetic"]["corners"]["scenes_with_card"] == 2
    assert out["synthetic"]["checks"]["resolution"]["agreement"] == 1.0
