"""Generic document collections: validation, translation to SQL, and the store.

A request flows ``requests`` (shape) → ``filters`` / ``updates`` / ``query`` (meaning,
422s naming the field) → ``translate`` + ``fields`` + ``jsonsql`` (SQL per engine) →
``store`` (one transaction per call).
"""
