"""capture-coach: coaches a person through the hand-held ID photo (手持身份证照)."""

__version__ = "0.1.0"
