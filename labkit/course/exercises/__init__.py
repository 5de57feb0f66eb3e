"""The self-checks of each lesson's exercises, one module per lesson (``l00`` ... ``l07``).

Each module holds ``EXERCISES``: id -> :class:`labkit.course.check.Exercise`. A check runs what
the learner wrote on the real model or a real measurement and explains a wrong answer.
Introduced in notebooks/00_start_here.
"""
