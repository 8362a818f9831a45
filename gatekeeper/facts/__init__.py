"""What rules read: frozen facts about the image and the files that describe how it runs."""

from __future__ import annotations

from dataclasses import dataclass

from gatekeeper.facts.image import ImageFacts


@dataclass(frozen=True)
class Target:
    """Everything one gate run judges together."""

    image: ImageFacts | None = None

    def require_image(self) -> ImageFacts:
        if self.image is None:
            from gatekeeper.rule import NotApplicable

            raise NotApplicable("no image given")
        return self.image
