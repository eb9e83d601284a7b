"""The figures of the chapters, one module per group of chapters: :mod:`~qsnn.book.figures.part1`
(chapters 1-3), :mod:`~qsnn.book.figures.building_blocks` (4), :mod:`~qsnn.book.figures.training`
(5-7), :mod:`~qsnn.book.figures.bridge` (8) and :mod:`~qsnn.book.figures.deploy` (9)."""
