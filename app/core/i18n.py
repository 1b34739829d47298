"""Marking words for translation where they are written, translating them where they are shown."""


def N_(message: str) -> str:
    """Marks a message for the catalog (`make catalogs` extracts it); it is translated when a
    page shows it, in the reader's language."""
    return message
