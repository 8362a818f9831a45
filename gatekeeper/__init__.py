"""gatekeeper: is this container image ready for production?"""

__version__ = "0.1.0"
