"""The weights file behind a feature space: vetted before torch-fidelity opens it, and identified.

torch-fidelity 0.4.0 opens a user's Inception or VGG16 weights with
``torch.load(path, weights_only=False)``, which unpickles arbitrary objects and so can run
arbitrary code. genbench first opens the file with ``weights_only=True`` (tensors and plain
containers only) and refuses it if that fails. CLIP files are TorchScript archives, opened with
``torch.jit.load``, which runs no Python code; DINOv2 weights come from ``torch.hub`` only
(torch-fidelity 0.4.0 cannot load a local file for them, the parameter model refuses one).

The file's sha256 is the weights' identity in every result's protocol and in the feature cache's
key: two files with the same name but different weights never share features or compare.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from genbench.errors import GenbenchError
from genbench.hashing import file_sha256
from genbench.metrics.extractors import GENBENCH_EXTRACTORS
from genbench.metrics.extractors.digits_cnn import BUNDLED_WEIGHTS
from genbench.weights_files import plain_weights_file

#: said in place of a sha256 when torch-fidelity fetches its own weights (the torch-fidelity
#: version, also in the protocol, fixes which)
TORCH_FIDELITY_DEFAULT = "torch-fidelity default"


@dataclass(frozen=True)
class ExtractorWeights:
    #: the file given to torch-fidelity; None lets torch-fidelity fetch its default weights
    path: str | None
    sha256: str | None

    def identity(self) -> str:
        """The file's sha256, not its path: the same weights give comparable results on any machine."""
        return self.sha256 or TORCH_FIDELITY_DEFAULT


def vet_weights_file(extractor: str, path: str) -> None:
    """Refuse a file that torch-fidelity would open by unpickling arbitrary objects (checked when
    the suite loads too; again here, as the file may have changed since)."""
    if not Path(path).is_file():
        raise GenbenchError(f"feature_extractor_weights_path '{path}' ({extractor}) is not a file")
    if extractor.startswith("clip-"):
        return
    try:
        plain_weights_file(path)
    except ValueError as refused:
        raise GenbenchError(
            f"refusing feature_extractor_weights_path ({extractor}): {refused}. torch-fidelity would "
            "unpickle it with weights_only=False"
        ) from None


@lru_cache(maxsize=16)
def resolve_weights(extractor: str, path: str | None) -> ExtractorWeights:
    """The vetted, hashed weights of ``extractor``; genbench's own extractors default to the
    bundled file, torch-fidelity's to the weights torch-fidelity fetches itself."""
    if path is None and extractor in GENBENCH_EXTRACTORS:
        path = str(BUNDLED_WEIGHTS)
    if path is None:
        return ExtractorWeights(None, None)
    vet_weights_file(extractor, path)
    return ExtractorWeights(path, file_sha256(path))
