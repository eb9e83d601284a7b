"""The book's tooling: what turns the chapters into a book, and what the chapters draw and compute with.

- :mod:`qsnn.book.runner`: chapters re-run with other parameters through papermill
  (``python -m qsnn.book``), and refreshed in place.
- :mod:`qsnn.book.results`: each chapter's headline numbers as JSON, and the values its prose glues.
- :mod:`qsnn.book.provenance`: the provenance cell every chapter opens with.
- :mod:`qsnn.book.analysis`: the tables and measurements the chapters print (rates, sign balance, sizes).
- :mod:`qsnn.book.trained` and :mod:`qsnn.book.reports`: what the training chapters read from a grid's runs, and
  what they print and glue from its comparisons; :mod:`qsnn.book.paper_values`: the values the Q-SNN paper reports.
- :mod:`qsnn.book.summaries`: what chapters 1 and 2 write to their results files.
- :mod:`qsnn.book.events`, :mod:`qsnn.book.bridging` and :mod:`qsnn.book.deployment`: the measurements of
  chapter 6 (event data), chapter 8 (Part I inside Q-SNNs) and chapter 9 (a deployed Q-SNN).
- :mod:`qsnn.book.plotting` and :mod:`qsnn.book.figures`: the figure style and each chapter's figures.

Nothing here is imported by ``import qsnn``; Part I, Part II and the experiments never import it.
"""
