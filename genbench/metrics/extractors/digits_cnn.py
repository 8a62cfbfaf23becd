"""``digits-cnn`` and ``stacked-digits-cnn``: offline feature extractors for the bundled digits.

FID, KID and precision/recall need a feature space, and the standard one (Inception-v3 trained on
ImageNet) needs a download and sees 16-pixel digits through a 299-pixel lens. Mode counting on
Stacked MNIST already needs a digit classifier (Metz et al. 2017; Srivastava et al. 2017; Lin et al.
2018); a small one trained on the digits train split serves as both. Its penultimate layer gives
the features, its last layer the logits of the ten digits.

Both extractors take what torch-fidelity gives every extractor: uint8 images (N, 3, H, W). Inputs
of any size are resized to the classifier's 16 x 16 (bilinear, antialiased when shrinking).

- ``digits-cnn`` classifies the mean of the three channels, which for grayscale digits repeated to
  three channels is the digit itself: 64 features, 10 logits.
- ``stacked-digits-cnn`` classifies each channel on its own, as mode counting on stacked digits
  does: the features of the three channels side by side (192), and 1,000 logits, one per stack
  100 r + 10 g + b, equal to log p(r) + log p(g) + log p(b). The argmax of these logits is the
  triple of per-channel argmaxes, so mode counting and the inception score see the same labels.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from torch_fidelity.feature_extractor_base import FeatureExtractorBase

from genbench.data.digits import DIGIT_CLASSES, STACK_DEPTH

#: side of the images the classifier sees; the digits are 8 x 8 scans, so 16 px loses nothing
CLASSIFIER_SIZE = 16
FEATURE_DIM = 64
#: weights made by ``genbench.metrics.extractors.training.train_digits_classifier(path, seed=0)``
BUNDLED_WEIGHTS = Path(__file__).with_name("digits_cnn_seed0.pt")

FEATURES = "features"
LOGITS = "logits"


class DigitsClassifier(nn.Module):
    """Two strided conv layers and a 64-unit hidden layer on 1 x 16 x 16 digits in [-1, 1].

    43k weights (a 170 KB file). Strided convolutions instead of pooling make it cheap enough to
    classify the 78,000 channels of the 26,000-sample mode-counting protocol in seconds on a CPU;
    the digits are 8 x 8 scans, so halving 16 px at the first layer loses nothing.
    """

    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(1, 32, 3, stride=2, padding=1),
            nn.ReLU(),
            nn.Conv2d(32, 32, 3, stride=2, padding=1),
            nn.ReLU(),
            nn.Flatten(),
            nn.Linear(32 * (CLASSIFIER_SIZE // 4) ** 2, FEATURE_DIM),
            nn.ReLU(),
        )
        self.head = nn.Linear(FEATURE_DIM, DIGIT_CLASSES)

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(features, logits) of images (N, 1, 16, 16) in [-1, 1]."""
        features = self.body(images)
        return features, self.head(features)


def classifier_input(channels: torch.Tensor) -> torch.Tensor:
    """uint8 (N, 1, H, W) -> float (N, 1, 16, 16) in [-1, 1], genbench's image convention."""
    images = channels.float() / 127.5 - 1
    if images.shape[-2:] != (CLASSIFIER_SIZE, CLASSIFIER_SIZE):
        shrinking = images.shape[-1] > CLASSIFIER_SIZE
        images = F.interpolate(
            images, size=(CLASSIFIER_SIZE, CLASSIFIER_SIZE), mode="bilinear", antialias=shrinking
        )
    return images


def load_classifier(weights_path: str | Path) -> DigitsClassifier:
    """The classifier with weights from a state dict, loaded without unpickling any code."""
    classifier = DigitsClassifier()
    classifier.load_state_dict(torch.load(weights_path, map_location="cpu", weights_only=True))
    return classifier.requires_grad_(False).eval()


class FeatureExtractorDigitsCNN(FeatureExtractorBase):
    """torch-fidelity extractor over the digits classifier; classifies the channels' mean."""

    def __init__(
        self, name: str, features_list: list[str], feature_extractor_weights_path: str | None = None, **kwargs
    ) -> None:
        super().__init__(name, features_list)
        self.classifier = load_classifier(feature_extractor_weights_path or BUNDLED_WEIGHTS)

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, ...]:
        channels = images.float().mean(dim=1, keepdim=True)
        features, logits = self.classifier(classifier_input(channels))
        return self.select({FEATURES: features, LOGITS: logits})

    def select(self, outputs: dict[str, torch.Tensor]) -> tuple[torch.Tensor, ...]:
        return tuple(outputs[name] for name in self.features_list)

    @staticmethod
    def get_provided_features_list() -> tuple[str, ...]:
        return FEATURES, LOGITS

    @staticmethod
    def get_default_feature_layer_for_metric(metric: str) -> str:
        return LOGITS if metric == "isc" else FEATURES

    @staticmethod
    def can_be_compiled() -> bool:
        return False

    @staticmethod
    def get_dummy_input_for_compile() -> torch.Tensor:
        return torch.zeros(1, 3, CLASSIFIER_SIZE, CLASSIFIER_SIZE, dtype=torch.uint8)


class FeatureExtractorStackedDigitsCNN(FeatureExtractorDigitsCNN):
    """Classifies each of the three channels: 192 features and 1,000 stack logits."""

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, ...]:
        count = images.shape[0]
        channels = images.reshape(count * STACK_DEPTH, 1, *images.shape[-2:])
        features, logits = self.classifier(classifier_input(channels))
        log_p = logits.log_softmax(dim=1).reshape(count, STACK_DEPTH, DIGIT_CLASSES)
        red, green, blue = log_p.unbind(dim=1)
        stack_logits = red[:, :, None, None] + green[:, None, :, None] + blue[:, None, None, :]
        return self.select({FEATURES: features.reshape(count, -1), LOGITS: stack_logits.reshape(count, -1)})
