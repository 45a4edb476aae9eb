"""review21: ``hub.yamldoc.safe_load`` is said to refuse what PyYAML refused, with its errors.

libyaml accepts a tab between a key's colon and its value, which PyYAML's own scanner refuses
("found character '\\t' that cannot start any token"): the fallback to PyYAML runs only when
libyaml refuses, so such an agreement or rule file now loads where it was reported before.
"""

from __future__ import annotations

import pytest
import yaml

from hub.yamldoc import safe_load


@pytest.mark.parametrize("text", ["a: \t1\n", "id: x\nversion: \t2\n"])
def test_what_pyyaml_refuses_is_refused(text: str) -> None:
    with pytest.raises(yaml.YAMLError):
        yaml.safe_load(text)
    with pytest.raises(yaml.YAMLError):
        safe_load(text)
