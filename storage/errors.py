"""Storage's own exceptions, for conditions the caller is expected to handle."""

from __future__ import annotations

__all__ = ["TrackingCodeTakenError", "VerificationCodeTakenError"]


class TrackingCodeTakenError(Exception):
    """Another request already has this tracking code: draw a new code and add the request again.

    Codes are random, so this is rare; the unique constraint, not a prior look-up, is what guarantees it.
    """

    def __init__(self, tracking_code: str) -> None:
        super().__init__(tracking_code)
        self.tracking_code = tracking_code


class VerificationCodeTakenError(Exception):
    """Another certificate already has this verification code: draw a new code and add it again (rare)."""

    def __init__(self, verification_code: str) -> None:
        super().__init__(verification_code)
        self.verification_code = verification_code
