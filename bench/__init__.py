"""The fan-out and concurrency benchmark: ``python -m bench`` (``make bench``).

One module per job: ``stats`` and ``ticks`` are pure; ``load`` is the viewers' process;
``raw`` and ``naive`` are the two servers the product is compared with; ``servers`` starts
every server under test; ``sweep`` and ``concurrency`` measure; ``report`` prints, writes
JSON and draws the plot. Beside them, ``cluster`` measures nothing: it starts two Daphnes
behind nginx for a person to try (``make cluster``).
"""
