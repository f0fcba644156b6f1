"""Preview: every communication as customers will see it, filled with sample data, in one
self-contained static page (``reconciler preview``). ``page.build_page`` takes the head
documents and, for before/after, the base documents. Offline and pure but for ``samples``
reading a ``--sample`` file.
"""
