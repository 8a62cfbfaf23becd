"""The code identity every record carries: what changes it and what does not."""

from __future__ import annotations

import importlib.metadata

from genbench.code_identity import code_identities, user_references


def test_user_references_are_found_anywhere_in_a_spec():
    spec = {
        "dataset": {"name": "my_pkg.data:ring", "params": {}},
        "model": {"name": "pretrained", "params": {"factory": "my_pkg.nets:build", "path": "/a/b:c"}},
        "metrics": [{"name": "modes", "params": {}}],
    }
    assert user_references(spec) == {"my_pkg.data:ring", "my_pkg.nets:build"}


def test_editing_any_module_of_a_users_package_changes_the_identity(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(tmp_path))
    package = tmp_path / "identity_pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "losses.py").write_text("from identity_pkg.helpers import SCALE\n")
    (package / "helpers.py").write_text("SCALE = 1\n")
    spec = {"loss": {"name": "identity_pkg.losses:factory", "params": {}}}
    (before,) = code_identities([spec])
    (package / "helpers.py").write_text("SCALE = 3\n")
    (after,) = code_identities([spec])
    assert before.user_modules.keys() == {"identity_pkg.losses"}
    assert before != after
    assert after.differences(before) == ["identity_pkg.losses changed"]


def test_an_installed_distribution_is_identified_by_its_version():
    (identity,) = code_identities([{"model": {"name": "torch.nn:Identity", "params": {}}}])
    assert identity.user_modules == {"torch.nn": f"torch=={importlib.metadata.version('torch')}"}


def test_a_trial_without_user_code_depends_on_genbench_alone():
    (identity,) = code_identities([{"model": {"name": "mlp_gan", "params": {}}}])
    assert identity.user_modules == {}
    assert len(identity.genbench_source) == 16
