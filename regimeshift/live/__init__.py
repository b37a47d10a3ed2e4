"""The live evening: the signal for today, the orders an account needs, the paper ticket, the decision registry
and the scheduler that runs them after the close. It uses the run (:mod:`regimeshift.pipeline`), never the command
line."""
