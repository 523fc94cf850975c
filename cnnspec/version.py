"""cnnspec's version (a leaf, so reports and emitted files can name it without importing the
package's entry points)."""

__version__ = "0.1.0"
