"""``hub.yamldoc.safe_load`` parses with libyaml and gives what ``yaml.safe_load`` gives: the
same values for every YAML file in the repository, PyYAML's error for a broken document."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
import yaml

from hub import yamldoc
from hub.yamldoc import safe_load

ROOT = Path(__file__).resolve().parents[3]


def test_every_yaml_file_of_the_repository_gives_pyyamls_values() -> None:
    files = sorted(ROOT.glob("deploy/**/*.y*ml")) + sorted(ROOT.glob("tests/**/*.y*ml"))
    assert len(files) > 20
    assert yamldoc._LOADER is yaml.CSafeLoader  # the wheel ships libyaml: the fast path runs
    for path in files:
        text = path.read_text(encoding="utf-8")
        try:
            expected: object = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            expected = ("error", str(exc))
        try:
            got: object = safe_load(text)
        except yaml.YAMLError as exc:
            got = ("error", str(exc))
        assert pickle.dumps(got) == pickle.dumps(expected), path.name  # types as well as values


@pytest.mark.parametrize("text", ["a: [1, 2\nb: 3\n", "{a: 1", "a: b: c\n", "- a\nb: 1\n"])
def test_a_broken_document_raises_pyyamls_own_error(text: str) -> None:
    with pytest.raises(yaml.YAMLError) as expected:
        yaml.safe_load(text)
    with pytest.raises(yaml.YAMLError) as got:
        safe_load(text)
    assert str(got.value) == str(expected.value)
