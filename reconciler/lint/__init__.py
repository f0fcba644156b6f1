"""Message quality (lint): what customers will receive, checked offline per communication.

``sms`` is the pure GSM 03.38 arithmetic, ``rules`` the registry of rule ids, ``engine`` runs
the rules over loaded manifests and ``fix`` rewrites what it can. This package reads manifests
through ``reconciler.manifests`` only and never touches the network.
"""
