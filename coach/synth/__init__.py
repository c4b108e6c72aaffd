"""Synthetic test scenes: a real ID-card specimen pasted with a known homography into a real photo
of a person, with known corners and known defects; and scenario recordings built from them.

Everything here is generated at test / eval time from the shared photos (../shared/frames) and
never written into the repository: these are identity-document look-alikes.

How a scene is made (make_scene):
  1. the base photo is scaled and cropped to the output size (1280x720, portrait bases 720x1280),
     keeping the face inside; MediaPipe (coach.vision.landmarks) finds the face, hands and pose
     on the base once (cached), or a Haar face detector when the models are not available;
  2. the card (a specimen cropped to the card itself, resampled to the ID-1 aspect, rounded
     corners) is placed where the person's hands are (between the two hands, their knuckles at
     the card's short edges) or at the chest below the face, seen through a pinhole camera with
     a small random 3-D tilt (<= 12 deg), then warped with that homography;
  3. the card's brightness and colour follow the scene (face luma, grey-world tint, a soft light
     gradient), it gets the photo's own noise level and a slight optical blur;
  4. the person's own fingers (hand-landmark mask refined by skin colour) are re-pasted over the
     card's border band only, so the hands hold it by its edges and never cover its text;
  5. at most one defect is applied, each making one named check fail.

`Scene.expected` holds only what the scene determines (check id -> expected pass in the hand-held
profile); a check whose outcome the scene leaves open (e.g. hands_on_card on a base photo where
only one hand is visible, or card_sharp on a frame that is nearly black) is left out.
Modules: geometry (quads, projection), cards (specimen crops), bases (photos of people and their
landmarks), hands, placement, render, scenes (Scene, make_scene, iter_scenes), scenario
(write_scenario).
"""

from __future__ import annotations

from coach.synth.bases import base_pool, use_models
from coach.synth.cards import card_paths, load_card, prepare_card
from coach.synth.geometry import ID1_ASPECT, Pose3D, order_quad, polygon_area, project_card, quad_iou
from coach.synth.scenario import SCENARIO_KINDS, write_scenario
from coach.synth.scenes import (DEFECT_DROPS, DEFECT_FAILS, DEFECTS, GOOD_CHECKS, Scene, defect_schedule,
                                iter_scenes, make_scene, scene_at)

__all__ = [
    "DEFECTS", "DEFECT_DROPS", "DEFECT_FAILS", "GOOD_CHECKS", "ID1_ASPECT", "Pose3D", "SCENARIO_KINDS", "Scene",
    "base_pool", "card_paths", "defect_schedule", "iter_scenes", "load_card", "make_scene", "order_quad",
    "polygon_area", "prepare_card", "project_card", "quad_iou", "scene_at", "use_models", "write_scenario",
]
