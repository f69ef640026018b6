"""The package version, in a module of its own: the results writer records it without importing the
package root (which reaches up to petra.api)."""

__version__ = "0.1.0"
