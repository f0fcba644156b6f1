"""Write manifests from live state (``build``) and update existing ones in place (``merge``)."""
