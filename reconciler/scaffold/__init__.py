"""``reconciler init``'s scaffold: ``layout`` renders the files of a manifests-only repository
from the skeleton shipped in this package (``skeleton/``), ``create`` writes them without
overwriting anything."""
