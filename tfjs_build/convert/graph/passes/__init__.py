"""The TF.js-specific graph passes, one per module; ``optimize.py`` runs them in order."""
