"""Removing what dockwright made and no longer needs: ``host`` (the local store: host
cleanup and purge) and ``registry`` (stages in a ``--repo``, by keep policies).

Both decide first, in pure functions over listings (what to remove, what to keep and why),
then remove through the engine; ``--dry-run`` stops after deciding.
"""
