"""init: bring-up and what the kernel runs.

kmain (main) brings the machine up part by part, engine starts the Guide and registers the
decks, scenarios are what the command line's run= selects.  May use: every part.
"""
